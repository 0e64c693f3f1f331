// An unplanned failover against the real thing (the rig of switchover-e2e): a consumer group
// halfway through a sequenced topic at us-east, the offsets service checkpointing it into
// eu-west; then us-east's broker stops. Failover without force is refused until the cluster
// failed the configured number of probes, then runs: records at risk reported, the flow paused,
// the group's offsets committed in eu-west from the checkpoints (the source is gone), the active
// region flipped; the group continues at eu-west. (failover-risk-e2e covers a lag > 0.) A second
// configured group that never consumed is skipped (nothing to translate), not a failure, though
// the source is gone: the offsets service read the source's groups before the loss.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, GeoError } from "@geo/grpc";
import { createLogger } from "@geo/logging";
import { healthV1 } from "@geo/proto";
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

const logger = createLogger({ service: "failover-e2e-test", level: "warn" });
const TOTAL = 1500;
const CONSUMED_AT_SOURCE = 700;

let rig: SwitchoverRig;

before(async () => {
  rig = await startSwitchoverRig("failover", logger, {
    flowGroups: ordersGroup("", [GROUP, IDLE_GROUP]),
  });
  await rig.produce(0, TOTAL);
  await rig.startAgent("agent-eu-1");
});

after(async () => {
  await rig?.stop();
});

describe("unplanned failover us-east -> eu-west with us-east's broker stopped", () => {
  let consumedAtSource: number[] = [];

  it("the group stops halfway at us-east and is checkpointed into eu-west", async () => {
    consumedAtSource = await rig.consume(
      0,
      TOPIC,
      (seen) => seen.length >= CONSUMED_AT_SOURCE,
      60_000,
    );
    await rig.waitForCheckpoints(CONSUMED_AT_SOURCE);
    await rig.waitForReplicated(TOTAL);
    // The records at risk come from the health service's last lag measurement before the loss:
    // wait until it has measured the replicated state (a round may be slow on a loaded machine).
    await waitFor(
      "the health service measuring the flow at lag 0",
      async () => {
        const health = await rig.client.getFlowHealth({ flow: FLOW_NAME });
        const orders = health.partitions.filter((p) => p.sourceTopic === TOPIC);
        return orders.length > 0 && orders.every((p) => BigInt(p.lag?.records ?? "1") === 0n);
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
  });

  it("refuses an unforced failover until us-east failed its probes, then fails over; the group continues at eu-west", async () => {
    const source = rig.stack.clusters[0]!;
    const before = await rig.stateOf();
    const request = {
      flowGroup: "orders",
      targetRegion: "eu-west",
      expectedEpoch: before.epoch,
      actor: "test",
      reason: "us-east lost",
    };
    await assert.rejects(rig.client.failover(request), (error: unknown) => {
      assert.ok(error instanceof GeoError, String(error));
      assert.equal(error.code, Code.FAILED_PRECONDITION, error.message);
      assert.match(
        error.message,
        /check-source-down: cluster us-east failed \d+ consecutive probes, fewer than the 3/,
      );
      return true;
    });
    // Refused while us-east answers (asked before the broker stops: a broker's shutdown can
    // take longer than three probes on a loaded machine, which would make the refusal a race).
    await source.stopBroker(source.brokers[0]!.nodeId);
    let answer: healthV1.FailoverResponse | undefined;
    await waitFor(
      "an unforced failover accepted once us-east failed 3 probes",
      async () => {
        answer = await rig.client.failover(request);
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    const record = answer!.transition!;
    console.log(`failover: ${answer!.steps.map((s) => `${s.name}: ${s.detail}`).join(" | ")}`);
    assert.equal(record.outcome, healthV1.TransitionOutcome.SUCCEEDED, record.error);
    assert.equal(answer!.state?.activeRegion, "eu-west");
    assert.equal(answer!.state?.phase, healthV1.RegionPhase.FAILED_OVER);
    // The lost region's lag cannot be read now: the last lag measured before it was lost (all
    // replicated) is the report, with the checkpoints the group resumes from.
    assert.match(
      answer!.steps.find((s) => s.name === "records-at-risk")!.detail,
      /^0 records at risk in 0 partitions; group billing over east-west: \d checkpoints, oldest \d+ ms; group reports over east-west: no checkpoint$/,
    );
    const idle = answer!.steps.filter((s) => s.description.includes(`group ${IDLE_GROUP} `));
    assert.deepEqual(
      idle.map((s) => [s.name, s.ok, s.skipped]),
      [["commit-offsets", true, true]],
    );
    assert.match(idle[0]!.detail, /^nothing to commit: .* none when its groups were last read/);
    assert.equal(record.rpoUnknown, false);
    assert.equal(record.rpoRecords, "0");
    assert.deepEqual(
      record.checkpointAges.map((a) => [a.flow, a.group, a.partitions]),
      // One checkpoint per partition the group committed at us-east.
      [
        [FLOW_NAME, GROUP, new Set(consumedAtSource.map((seq) => seq % 3)).size],
        [FLOW_NAME, IDLE_GROUP, 0],
      ],
    );

    const continued = await rig.consume(
      1,
      REMOTE,
      (seen) => consumedAtSource.length + seen.length >= TOTAL,
      90_000,
    );
    const { duplicates, misses } = sequenceCheck([...consumedAtSource, ...continued], TOTAL);
    console.log(
      `failover figures: RTO ${durationMs(record.rto).toFixed(0)} ms, RPO ${record.rpoUnknown ? "unknown" : `${record.rpoRecords} records`}, ` +
        `${consumedAtSource.length} consumed at us-east, ${continued.length} at eu-west, ` +
        `duplicates ${duplicates}, misses ${misses}`,
    );
    // Checkpointed after the group's last commit: nothing was consumed since, so nothing repeats.
    assert.equal(duplicates, 0);
    assert.equal(misses, 0);
  });
});
