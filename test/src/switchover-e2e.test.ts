// A planned switchover against the real thing: two Kafka clusters, Redis, the coordinator, an
// agent in eu-west replicating us-east->eu-west, the offsets service and the health service, all
// processes. A consumer group stops halfway through a sequenced topic at us-east; drills
// (Switchover and Failover dry runs) on the healthy pair pass with their RTO, RPO and per-group
// translation report kept in the history, and fail (saying why) once eu-west's agent is
// stopped; the Switchover then
// drains (lag 0 through GetFlowHealth), pauses the flow, commits the group's translated offsets
// into eu-west (CommitTranslatedOffsets) and flips the active region; a consumer of the same
// group at eu-west continues: every record once, none missing. A second configured group that
// never consumed has nothing to translate: its steps are skipped (said so), never a failure.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLogger } from "@geo/logging";
import { healthV1 } from "@geo/proto";
import type { ServiceProcess } from "./support/service-process";
import {
  durationMs,
  FLOW_NAME,
  GROUP,
  IDLE_GROUP,
  ordersGroup,
  REMOTE,
  type SwitchoverRig,
  sequenceCheck,
  startSwitchoverRig,
  TOPIC,
} from "./support/switchover-rig";
import { waitFor } from "./support/wait-for";

const logger = createLogger({ service: "switchover-e2e-test", level: "warn" });
const FIRST_BATCH = 1500;
const CONSUMED_AT_SOURCE = 700;
const TOTAL = 2000;

let rig: SwitchoverRig;
let agent: ServiceProcess;

before(async () => {
  rig = await startSwitchoverRig("switchover", logger, {
    flowGroups: ordersGroup("", [GROUP, IDLE_GROUP]),
  });
  await rig.produce(0, FIRST_BATCH);
  agent = await rig.startAgent("agent-eu-1");
});

after(async () => {
  await rig?.stop();
});

const stepNames = (steps: readonly healthV1.TransitionStep[]) =>
  steps.map((s) => `${s.name}${s.ok ? "" : "!"}`);

/** The steps about IDLE_GROUP: name, ok, skipped. */
const idleSteps = (steps: readonly healthV1.TransitionStep[]) =>
  steps
    .filter((s) => s.description.includes(`group ${IDLE_GROUP} `))
    .map((s) => [s.name, s.ok, s.skipped]);

describe("planned switchover us-east -> eu-west (real processes, Kafka, Redis)", () => {
  let consumedAtSource: number[] = [];

  it("a consumer group stops halfway through the sequence at us-east", async () => {
    consumedAtSource = await rig.consume(
      0,
      TOPIC,
      (seen) => seen.length >= CONSUMED_AT_SOURCE,
      60_000,
    );
    assert.equal(consumedAtSource.length, CONSUMED_AT_SOURCE);
  });

  it("drills (Switchover and Failover dry runs) on the healthy pair pass, report RTO, RPO and each group's translation, move nothing, and are kept", async () => {
    // A switchover drill only reports missing checkpoints (it reads live positions) and passes
    // without them; the report checked below is the one with the group's checkpoints written.
    await rig.waitForCheckpoints(CONSUMED_AT_SOURCE);
    const before = await rig.stateOf();
    const drill = async (kind: "switchover" | "failover") => {
      let found: healthV1.TransitionRecord | undefined;
      // The offsets service reads the flow's offset map and checkpoints the group first.
      await waitFor(
        `a passing ${kind} drill`,
        async () => {
          const request = {
            flowGroup: "orders",
            targetRegion: "eu-west",
            dryRun: true,
            actor: "drill",
          };
          const answer = await (kind === "switchover"
            ? rig.client.switchover(request)
            : rig.client.failover(request));
          found = answer.transition;
          return found?.outcome === healthV1.TransitionOutcome.DRILL_PASSED;
        },
        { timeoutMs: 90_000, intervalMs: 2000 },
      );
      const record = found!;
      console.log(
        `${kind} drill: ${record.steps.map((s) => `${s.name}: ${s.detail}`).join(" | ")}`,
      );
      console.log(
        `${kind} drill figures: expected RTO ${durationMs(record.rto).toFixed(0)} ms, expected RPO ${record.rpoRecords} records`,
      );
      const detail = (name: string) => record.steps.find((s) => s.name === name)?.detail ?? "";
      assert.match(detail("check-agents"), /agent-eu-1/);
      // These clusters have no authorizer: said, not failed (passive-protection-e2e has one).
      assert.match(
        detail("check-passive-protection"),
        /^cluster eu-west has no authorizer: .* detected \(geo_passive_foreign_writes_total\), not prevented$/,
      );
      assert.match(detail("check-protectable"), /^cluster us-east has no authorizer: after the /);
      assert.deepEqual(
        record.passiveProtection.map((p) => [p.region, p.passiveNow, p.authorizer, p.error]),
        [
          ["eu-west", true, false, ""],
          ["us-east", false, false, ""],
        ],
      );
      assert.match(
        detail("commit-offsets"),
        /group billing: \d+ partitions translate exactly into eu-west/,
      );
      assert.match(
        detail("check-checkpoints"),
        /group billing: \d+ checkpoints, exact, oldest [\d.]+ s old \(fresh/,
      );
      assert.ok(
        durationMs(record.rto) > 0 && durationMs(record.rto) < 60_000,
        `RTO ${durationMs(record.rto)}`,
      );
      assert.equal(record.rpoUnknown, false);
      assert.match(record.rpoRecords, /^\d+$/);
      assert.equal(record.dryRun, true);
      assert.deepEqual(idleSteps(record.steps), [
        ["commit-offsets", true, true],
        ["check-checkpoints", true, true],
      ]);
      return record;
    };
    const switchoverDrill = await drill("switchover");
    assert.equal(switchoverDrill.rpoRecords, "0");
    const failoverDrill = await drill("failover");
    assert.match(
      failoverDrill.steps.find((s) => s.name === "check-source-down")!.detail,
      /0 of 3 failed probes now: a real failover waits for 3/,
    );
    assert.ok(failoverDrill.steps.some((s) => s.name === "records-at-risk" && s.ok));

    const after = await rig.stateOf();
    assert.equal(after.activeRegion, "us-east");
    assert.equal(after.epoch, before.epoch);
    // Kept: readable afterwards with their steps.
    const { transitions } = await rig.client.getRegionState({
      flowGroup: "orders",
      historyLimit: 50,
    });
    for (const drillRecord of [switchoverDrill, failoverDrill]) {
      const kept = transitions.find((t) => t.id === drillRecord.id);
      assert.ok(kept, `drill ${drillRecord.id} in the history`);
      assert.equal(kept.outcome, healthV1.TransitionOutcome.DRILL_PASSED);
      assert.deepEqual(
        kept.steps.map((s) => s.name),
        drillRecord.steps.map((s) => s.name),
      );
      assert.deepEqual(kept.rto, drillRecord.rto);
    }
  });

  it("with eu-west's agent stopped, the drill fails and says why", async () => {
    await agent.stop();
    await waitFor(
      "eu-west without a live agent",
      async () =>
        !(await rig.admin.listAgents({ region: "eu-west" })).agents.some((a) => a.connected),
      { timeoutMs: 60_000 },
    );
    const answer = await rig.client.switchover({
      flowGroup: "orders",
      targetRegion: "eu-west",
      dryRun: true,
      actor: "drill",
    });
    assert.equal(answer.transition?.outcome, healthV1.TransitionOutcome.DRILL_FAILED);
    assert.match(answer.transition?.error ?? "", /check-agents: region eu-west has no live agent/);
    const failoverDrill = await rig.client.failover({
      flowGroup: "orders",
      targetRegion: "eu-west",
      dryRun: true,
      actor: "drill",
    });
    assert.equal(failoverDrill.transition?.outcome, healthV1.TransitionOutcome.DRILL_FAILED);
    assert.match(
      failoverDrill.transition?.error ?? "",
      /check-agents: region eu-west has no live agent: start agents there/,
    );
    const { transitions } = await rig.client.getRegionState({
      flowGroup: "orders",
      historyLimit: 2,
    });
    assert.deepEqual(
      transitions.map((t) => [t.id, t.outcome]),
      [failoverDrill.transition!, answer.transition!].map((t) => [t.id, t.outcome]),
    );
    // A new agent (a restarted one keeps its id only once the old session expired).
    agent = await rig.startAgent("agent-eu-2");
  });

  it("switches over: drains, pauses, commits the translated offsets, flips; the group continues at eu-west exactly", async () => {
    // Written at us-east just before the switchover: the drain must wait for them.
    await rig.produce(FIRST_BATCH, TOTAL);
    const before = await rig.stateOf();
    const answer = await rig.client.switchover({
      flowGroup: "orders",
      targetRegion: "eu-west",
      expectedEpoch: before.epoch,
      actor: "test",
      reason: "planned switchover end to end",
    });
    const record = answer.transition!;
    const steps = stepNames(answer.steps);
    console.log(`switchover: ${answer.steps.map((s) => `${s.name}: ${s.detail}`).join(" | ")}`);
    assert.equal(record.outcome, healthV1.TransitionOutcome.SUCCEEDED, record.error);
    assert.deepEqual(idleSteps(answer.steps), [["commit-offsets", true, true]]);
    assert.match(
      answer.steps.find((s) => s.description.includes(`group ${IDLE_GROUP} `))!.detail,
      new RegExp(`^nothing to commit: group "${IDLE_GROUP}" has no committed offsets`),
    );
    for (const step of ["drain", "pause-flow", "commit-offsets"]) {
      assert.ok(steps.includes(step), `${step} in ${steps.join()}`);
    }
    assert.equal(answer.state?.activeRegion, "eu-west");
    assert.equal(answer.state?.epoch, String(Number(before.epoch) + 1));
    assert.equal((await rig.admin.getFlow({ name: FLOW_NAME })).flow?.paused, true);
    const rtoMs = durationMs(record.rto);
    assert.equal(record.rpoRecords, "0");
    assert.ok(rtoMs > 0 && rtoMs < 60_000, `RTO ${rtoMs} ms`);
    const target = rig.admins[1]!;
    console.log(
      `${GROUP} at eu-west: ${JSON.stringify(await target.fetchOffsets({ groupId: GROUP, topics: [REMOTE] }))}`,
    );

    const continued = await rig.consume(
      1,
      REMOTE,
      (seen) => consumedAtSource.length + seen.length >= TOTAL,
      90_000,
    );
    const { duplicates, misses } = sequenceCheck([...consumedAtSource, ...continued], TOTAL);
    console.log(
      `switchover figures: RTO ${rtoMs.toFixed(0)} ms, RPO ${record.rpoRecords} records, ` +
        `${consumedAtSource.length} consumed at us-east, ${continued.length} at eu-west, ` +
        `duplicates ${duplicates}, misses ${misses}`,
    );
    assert.equal(duplicates, 0);
    assert.equal(misses, 0);
  });
});
