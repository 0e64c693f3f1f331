import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { Code, GeoError } from "@geo/grpc";
import { createLogger } from "@geo/logging";
import { toEpoch } from "@geo/positions";
import type { DivergedRange, RegionStore, StepRecord } from "@geo/region-state";
import { createFakes, type Fakes, lagOf, ordersGroupConfig, ordersTransition } from "../testing";
import { useOrdersStore } from "../testing/region-store-fixture";
import { CopyInterruptedError, type RecordCopier } from "./dependencies";
import {
  createTransitionRunner,
  type TransitionRequest,
  type TransitionRunner,
} from "./transition-runner";

const logger = createLogger({ service: "transition-test", level: "silent" });
const CONFIG = ordersGroupConfig({ consumerGroups: ["billing"] });

const fixture = useOrdersStore(logger, "transition-test");
let store: RegionStore;
let fakes: Fakes;
let runner: TransitionRunner;

beforeEach(() => {
  store = fixture.store;
  fakes = createFakes();
  runner = createTransitionRunner({
    store,
    deps: fakes,
    groupConfigs: [CONFIG],
    logger,
    pollIntervalMs: 20,
  });
});

const request = ordersTransition;

async function refused(
  overrides: Partial<TransitionRequest>,
  code: Code,
  message: RegExp,
): Promise<void> {
  const before = await store.get("orders");
  await assert.rejects(runner.run(request(overrides)), (error: unknown) => {
    assert.ok(error instanceof GeoError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    return true;
  });
  assert.deepEqual(await store.get("orders"), before, "a refused request changes nothing");
  assert.deepEqual(await store.history("orders", 5), []);
  assert.deepEqual(fakes.calls, [], "no flow paused, no offset committed");
}

const stepNames = (steps: readonly { name: string; ok: boolean }[]) =>
  steps.map((s) => `${s.name}${s.ok ? "" : "!"}`);

/** `name: detail` of the steps skipped (ok, and nothing done). */
const skippedSteps = (steps: readonly StepRecord[]) =>
  steps.filter((s) => s.skipped === true && s.ok).map((s) => `${s.name}: ${s.detail}`);

describe("transition runner (fakes, real Redis)", () => {
  it("switches over: waits for consumers and lag, pauses, commits, resumes the reverse flow, flips", async () => {
    fakes.members.set("us-east/billing", 2);
    fakes.lags.set("east-west", [lagOf(5), lagOf(2), lagOf(0)]);
    // A slow admin answer while waiting is retried, not a failed step.
    fakes.failing.add("members");
    setTimeout(() => fakes.failing.delete("members"), 40);
    setTimeout(() => fakes.members.set("us-east/billing", 0), 80);
    const { state, record } = await runner.run(request());
    assert.equal(state.activeRegion, "eu-west");
    assert.equal(state.epoch, 2n);
    assert.equal(state.phase, "stable");
    assert.equal(record.outcome, "succeeded");
    assert.deepEqual(stepNames(record.steps), [
      "check-target",
      "check-agents",
      "check-source",
      "wait-consumers",
      "drain",
      "pause-flow",
      "commit-offsets",
      "commit-origin-offsets",
      "resume-flow",
      "unprotect-active",
      "protect-passive",
    ]);
    assert.deepEqual(
      [...fakes.denied.get("us-east")!],
      ["orders"],
      "the passive side is read-only",
    );
    assert.deepEqual(fakes.calls, [
      "pause east-west",
      "commit billing over east-west",
      // What billing read in us-east of eu-west's topics (remote copies) goes home to them.
      "commit billing over west-east to origin",
      "resume west-east",
    ]);
    assert.equal(record.rpoRecords, "0");
    assert.ok((record.rtoMs ?? -1) >= 40, `rto ${record.rtoMs} covers the waits`);
    assert.equal((await store.history("orders", 1))[0]?.id, record.id);
  });

  it("refuses bad requests with clear errors and changes nothing", async () => {
    await refused(
      { flowGroup: "nope" },
      Code.NOT_FOUND,
      /no flow group "nope"; known flow groups: orders/,
    );
    await refused(
      { targetRegion: "mars" },
      Code.INVALID_ARGUMENT,
      /"mars" is not part of flow group/,
    );
    await refused({ targetRegion: "us-east" }, Code.FAILED_PRECONDITION, /already active/);
    await refused({ expectedEpoch: toEpoch(4) }, Code.ABORTED, /expected_epoch 4 is stale/);
    await refused(
      { expectedEpoch: toEpoch(0) },
      Code.INVALID_ARGUMENT,
      /expected_epoch is required/,
    );
    await refused(
      { kind: "failback" },
      Code.FAILED_PRECONDITION,
      /failback returns .* never moved/,
    );
    fakes.live.set("eu-west", []);
    await refused(
      {},
      Code.FAILED_PRECONDITION,
      /refused, nothing changed: check-agents: region eu-west has no live agent/,
    );
    fakes.live.set("eu-west", ["a"]);
    fakes.unreachable.add("eu-west");
    await refused({}, Code.FAILED_PRECONDITION, /check-target: cluster eu-west is unreachable/);
    fakes.unreachable.clear();
    fakes.unreachable.add("us-east");
    await refused({}, Code.FAILED_PRECONDITION, /check-source: .* use Failover/);
    fakes.failures.set("us-east", 2);
    await refused(
      { kind: "failover" },
      Code.FAILED_PRECONDITION,
      /failed 2 consecutive probes, fewer than the 3/,
    );
    fakes.flowList.splice(0, 1);
    await refused(
      { kind: "failover", force: true },
      Code.FAILED_PRECONDITION,
      /no flow from us-east to eu-west/,
    );
  });

  it("keeps its lock through a step longer than the lock's lifetime", async () => {
    const shortLock = await fixture.open({ lockTtlMs: 300 });
    const slow = createTransitionRunner({
      store: shortLock,
      deps: fakes,
      groupConfigs: [CONFIG],
      logger,
      pollIntervalMs: 20,
    });
    fakes.lags.set("east-west", [...Array.from({ length: 50 }, () => lagOf(3)), lagOf(0)]);
    const running = slow.run(request());
    await new Promise((resolve) => setTimeout(resolve, 700));
    await assert.rejects(
      slow.run(request()),
      (error: GeoError) => error.code === Code.FAILED_PRECONDITION,
    );
    const { record } = await running;
    assert.equal(record.outcome, "succeeded", record.error);
    assert.ok(
      record.steps.find((s) => s.name === "drain")!.durationMs >= 700,
      "the drain outlived the lock's ttl",
    );
    assert.deepEqual(
      (await shortLock.history("orders", 5)).map((r) => r.outcome),
      ["succeeded"],
      "nothing was abandoned",
    );
  });

  it("refuses a second transition while one runs", async () => {
    fakes.lags.set("east-west", [lagOf(9)]);
    const first = runner.run(request({ timeoutMs: 1500 }));
    await new Promise((resolve) => setTimeout(resolve, 150));
    await assert.rejects(runner.run(request()), (error: GeoError) => {
      assert.equal(error.code, Code.FAILED_PRECONDITION);
      assert.match(error.message, /already in a transition: switchover .* by alice/);
      return true;
    });
    const { record } = await first;
    assert.equal(record.outcome, "failed");
  });

  it("stops at a drain that times out: the old region stays active and nothing is paused", async () => {
    fakes.lags.set("east-west", [lagOf(7)]);
    const { state, record } = await runner.run(request({ timeoutMs: 200 }));
    assert.equal(state.activeRegion, "us-east");
    assert.equal(state.epoch, 1n);
    assert.equal(state.phase, "stable");
    assert.equal(record.outcome, "failed");
    assert.match(
      record.error ?? "",
      /drain: flow east-west draining did not happen within 200 ms \(last: 7 records behind\)/,
    );
    assert.deepEqual(stepNames(record.steps).slice(-1), ["drain!"]);
    assert.deepEqual(fakes.calls, []);
  });

  it("does not take a 0 measured before the drain began for a drained flow", async () => {
    fakes.lags.set("east-west", [lagOf(0)]);
    fakes.lagStalenessMs = 60_000;
    const { state, record } = await runner.run(request({ timeoutMs: 200 }));
    assert.equal(state.activeRegion, "us-east");
    assert.match(
      record.error ?? "",
      /drain: .*\(last: waiting for a lag measured after the drain began\)/,
    );
    assert.deepEqual(fakes.calls, []);
  });

  it("does not take an unknown lag for 0 in the drain", async () => {
    fakes.failing.add("lag");
    const { state, record } = await runner.run(request({ timeoutMs: 200 }));
    assert.equal(state.activeRegion, "us-east");
    assert.match(record.error ?? "", /drain: .*\(last: lag unknown: source unreachable\)/);
    assert.deepEqual(fakes.calls, []);
  });

  it("undoes its pause when committing offsets fails", async () => {
    fakes.failing.add("commit");
    const { state, record } = await runner.run(request());
    assert.equal(state.activeRegion, "us-east");
    assert.equal(record.outcome, "failed");
    assert.deepEqual(stepNames(record.steps).slice(-3), [
      "pause-flow",
      "commit-offsets!",
      "resume-flow",
    ]);
    assert.deepEqual(fakes.calls, [
      "pause east-west",
      "commit billing over east-west",
      "resume east-west",
    ]);
    assert.equal(fakes.flowList.find((f) => f.name === "east-west")?.paused, false);
  });

  it("fails when the coordinator refuses the pause, and when translation is not exact", async () => {
    fakes.failing.add("pause");
    const paused = await runner.run(request());
    assert.match(paused.record.error ?? "", /pause-flow: coordinator refused the pause/);
    fakes.failing.clear();
    fakes.commitProblems = ["orders/1: offset 17 is before the replicated range"];
    const inexact = await runner.run(request());
    assert.match(inexact.record.error ?? "", /commit-offsets: not exact: orders\/1/);
    assert.equal(inexact.state.activeRegion, "us-east");
  });

  it("fails over after the configured failed probes, reporting records at risk; fails back later", async () => {
    fakes.unreachable.add("us-east");
    fakes.failures.set("us-east", 3);
    fakes.lags.set("east-west", [lagOf(42)]);
    fakes.checkpointSummaries.set("east-west/billing", {
      partitions: 3,
      inexact: [],
      oldestAgeMs: 1500,
    });
    const over = await runner.run(request({ kind: "failover" }));
    assert.equal(over.state.activeRegion, "eu-west");
    assert.equal(over.state.phase, "failed-over");
    assert.equal(over.record.rpoRecords, "42");
    assert.deepEqual(
      over.record.recordsAtRisk?.map(({ measuredAtMs, ...risk }) => risk),
      [{ flow: "east-west", sourceTopic: "orders", partition: 0, records: "42" }],
    );
    assert.equal(typeof over.record.recordsAtRisk?.[0]?.measuredAtMs, "number");
    assert.deepEqual(over.record.checkpointAges, [
      { flow: "east-west", group: "billing", partitions: 3, oldestAgeMs: 1500 },
    ]);
    assert.deepEqual(fakes.calls, ["pause east-west", "commit billing over east-west"]);
    // The lost region cannot be protected: recorded, and the failover goes on.
    assert.match(
      over.record.steps.find((s) => s.name === "protect-passive" && !s.ok)?.detail ?? "",
      /not attempted: cluster us-east failed its last 3 probes/,
    );

    fakes.unreachable.clear();
    fakes.calls.length = 0;
    // us-east is back with records east-west never replicated: 42 from before the failure in
    // partition 0, 8 written during the outage in partition 1.
    fakes.lags.set("east-west", [
      [
        { topic: "orders", partition: 0, records: 42n, endOffset: 142n, nextSourceOffset: 100n },
        { topic: "orders", partition: 1, records: 8n, endOffset: 58n, nextSourceOffset: 50n },
        { topic: "orders", partition: 2, records: 0n, endOffset: 7n, nextSourceOffset: 7n },
      ],
    ]);
    // The group consumed us-east.orders in eu-west: no offsets on west-east's topics.
    fakes.groupsWithoutOffsets.add("billing");
    const back = await runner.run(
      request({
        kind: "failback",
        targetRegion: "us-east",
        expectedEpoch: toEpoch(2),
        copyDiverged: true,
      }),
    );
    assert.equal(back.record.outcome, "succeeded", back.record.error);
    assert.match(
      back.record.steps.find((s) => s.name === "commit-offsets")?.detail ?? "",
      /^nothing to commit: group "billing" has no committed offsets$/,
    );
    assert.equal(back.state.activeRegion, "us-east");
    assert.equal(back.state.phase, "stable");
    assert.equal(back.state.epoch, 3n);
    const range = (partition: number, start: string, end: string, records: string) => ({
      flow: "east-west",
      sourceTopic: "orders",
      partition,
      startOffset: start,
      endOffset: end,
      records,
      copiedToTopic: "orders.diverged.us-east",
    });
    assert.deepEqual(back.record.diverged, [
      range(0, "100", "142", "42"),
      range(1, "50", "58", "8"),
    ]);
    assert.match(
      back.record.steps.find((s) => s.name === "divergence")?.detail ?? "",
      /^50 records in 2 ranges; orders\/0 \[100, 142\); orders\/1 \[50, 58\)$/,
    );
    assert.deepEqual(fakes.calls, [
      "copy us-east:orders/0 [100, 142) to eu-west:orders.diverged.us-east",
      "copy us-east:orders/1 [50, 58) to eu-west:orders.diverged.us-east",
      "resume west-east",
      "pause west-east",
      "commit billing over west-east",
      "commit billing over east-west to origin",
      "resume east-west",
    ]);
    assert.deepEqual([...fakes.denied.get("eu-west")!], ["orders"], "failback protects eu-west");
  });

  it("a group that never committed offsets is skipped by a switchover and its drill: nothing to translate", async () => {
    fakes.groupsWithoutOffsets.add("billing");
    // Nor has it checkpoints: there is nothing of it to checkpoint.
    fakes.checkpointSummaries.clear();
    const drill = await runner.run(request({ dryRun: true, expectedEpoch: toEpoch(0) }));
    assert.equal(drill.record.outcome, "drill-passed", drill.record.error);
    assert.deepEqual(skippedSteps(drill.record.steps), [
      'commit-offsets: nothing to commit: group "billing" has no committed offsets',
      'commit-origin-offsets: nothing to commit: group "billing" has no committed offsets',
      "check-checkpoints: group billing has no committed offsets to checkpoint",
    ]);
    const { state, record } = await runner.run(request());
    assert.equal(record.outcome, "succeeded", record.error);
    assert.equal(state.activeRegion, "eu-west");
    assert.deepEqual(skippedSteps(record.steps), [
      'commit-offsets: nothing to commit: group "billing" has no committed offsets',
      'commit-origin-offsets: nothing to commit: group "billing" has no committed offsets',
    ]);
    // The kept record says so too.
    const kept = await store.history("orders", 1);
    assert.equal(kept[0]?.steps.filter((s) => s.skipped === true).length, 2);
  });

  it("a group that never committed offsets is skipped by a failover and its drill", async () => {
    fakes.groupsWithoutOffsets.add("billing");
    fakes.checkpointSummaries.clear();
    const drill = await runner.run(
      request({ kind: "failover", dryRun: true, expectedEpoch: toEpoch(0) }),
    );
    assert.equal(drill.record.outcome, "drill-passed", drill.record.error);
    assert.deepEqual(skippedSteps(drill.record.steps), [
      'commit-offsets: nothing to commit: group "billing" has no committed offsets',
      "check-checkpoints: group billing has no committed offsets to checkpoint",
    ]);
    fakes.failures.set("us-east", 3);
    const { state, record } = await runner.run(request({ kind: "failover" }));
    assert.equal(record.outcome, "succeeded", record.error);
    assert.equal(state.activeRegion, "eu-west");
    assert.deepEqual(skippedSteps(record.steps), [
      'commit-offsets: nothing to commit: group "billing" has no committed offsets',
    ]);
  });

  it("a failback whose copy of diverged records fails keeps the listed ranges and moves nothing", async () => {
    fakes.failures.set("us-east", 3);
    await runner.run(request({ kind: "failover" }));
    fakes.lags.set("east-west", [
      [{ topic: "orders", partition: 0, records: 3n, endOffset: 13n, nextSourceOffset: 10n }],
    ]);
    fakes.failing.add("copy");
    const back = await runner.run(
      request({
        kind: "failback",
        targetRegion: "us-east",
        expectedEpoch: toEpoch(2),
        copyDiverged: true,
      }),
    );
    assert.equal(back.record.outcome, "failed");
    assert.equal(back.state.activeRegion, "eu-west");
    assert.match(back.record.error ?? "", /copy-diverged: target refused the records/);
    assert.deepEqual(back.record.diverged, [
      {
        flow: "east-west",
        sourceTopic: "orders",
        partition: 0,
        startOffset: "10",
        endOffset: "13",
        records: "3",
      },
    ]);
  });

  it("a retried failback copies only what earlier attempts did not: whole ranges, and the rest of one cut short", async () => {
    fakes.failures.set("us-east", 3);
    await runner.run(request({ kind: "failover" }));
    const diverged = (partition: number, start: bigint, end: bigint) => ({
      topic: "orders",
      partition,
      records: end - start,
      endOffset: end,
      nextSourceOffset: start,
    });
    fakes.lags.set("east-west", [
      [diverged(0, 100n, 142n), diverged(1, 50n, 58n), diverged(2, 20n, 25n)],
    ]);
    // The first attempt copies partition 0, then the target goes away 4 records into partition 1.
    let cut = true;
    const copier: RecordCopier = {
      copy: async (range) => {
        if (range.partition !== 1 || !cut) return fakes.copier.copy(range);
        cut = false;
        fakes.calls.push(`copy cut short at orders/1 54`);
        throw new CopyInterruptedError("target went away", 54n, 4n);
      },
    };
    const retrying = createTransitionRunner({
      store,
      deps: { ...fakes, copier },
      groupConfigs: [CONFIG],
      logger,
      pollIntervalMs: 20,
    });
    const failback = request({
      kind: "failback",
      targetRegion: "us-east",
      expectedEpoch: toEpoch(2),
      copyDiverged: true,
    });
    const brief = (ranges: readonly DivergedRange[] | undefined) =>
      (ranges ?? []).map(
        (r) =>
          `${r.partition} [${r.startOffset}, ${r.endOffset}) ${r.records}${r.copiedToTopic ? ` in ${r.copiedToTopic}` : ""}`,
      );
    fakes.calls.length = 0;
    const first = await retrying.run(failback);
    assert.equal(first.record.outcome, "failed");
    assert.deepEqual(brief(first.record.diverged), [
      "0 [100, 142) 42 in orders.diverged.us-east",
      "1 [50, 54) 4 in orders.diverged.us-east",
      "1 [54, 58) 4",
      "2 [20, 25) 5",
    ]);

    // Retried after more writes at us-east (partition 2 grew): only what is missing is copied.
    fakes.lags.set("east-west", [
      [diverged(0, 100n, 142n), diverged(1, 50n, 58n), diverged(2, 20n, 27n)],
    ]);
    fakes.calls.length = 0;
    const second = await retrying.run(failback);
    assert.equal(second.record.outcome, "succeeded", second.record.error);
    assert.deepEqual(
      fakes.calls.filter((call) => call.startsWith("copy")),
      [
        "copy us-east:orders/1 [54, 58) to eu-west:orders.diverged.us-east",
        "copy us-east:orders/2 [20, 27) to eu-west:orders.diverged.us-east",
      ],
    );
    assert.deepEqual(brief(second.record.diverged), [
      "0 [100, 142) 42 in orders.diverged.us-east",
      "1 [50, 54) 4 in orders.diverged.us-east",
      "1 [54, 58) 4 in orders.diverged.us-east",
      "2 [20, 27) 7 in orders.diverged.us-east",
    ]);
    assert.deepEqual(
      skippedSteps(second.record.steps).filter((step) => step.startsWith("copy-diverged")),
      [
        "copy-diverged: copied by an earlier attempt: 42 records",
        "copy-diverged: copied by an earlier attempt: 4 records",
      ],
    );
  });

  it("fails over with force, and with an unknown RPO when the lag was never measured", async () => {
    fakes.failing.add("lag");
    fakes.failing.add("checkpoints");
    const { state, record } = await runner.run(request({ kind: "failover", force: true }));
    assert.equal(state.activeRegion, "eu-west");
    assert.equal(record.rpoRecords, undefined);
    assert.match(
      record.steps.find((s) => s.name === "check-source-down")?.detail ?? "",
      /forced by the request/,
    );
    assert.match(
      record.steps.find((s) => s.name === "records-at-risk")?.detail ?? "",
      /unknown: lag of east-west never measured; checkpoints unknown: group billing over east-west: offsets service unavailable/,
    );
  });

  it("reports the last lag measured before the source was lost as the records at risk", async () => {
    fakes.failing.add("lag");
    fakes.checkpointSummaries.clear();
    const measuredAtMs = Date.now() - 4000;
    fakes.lastKnown.set("east-west", [
      { topic: "orders", partition: 0, records: 5n, measuredAtMs },
      { topic: "orders", partition: 1, records: 0n, measuredAtMs },
      { topic: "orders", partition: 2, records: 7n, measuredAtMs: measuredAtMs + 2000 },
      { topic: "heartbeats", partition: 0, records: 3n, measuredAtMs },
    ]);
    const { record } = await runner.run(request({ kind: "failover", force: true }));
    assert.equal(record.outcome, "succeeded", record.error);
    assert.equal(record.rpoRecords, "12");
    assert.deepEqual(record.recordsAtRisk, [
      { flow: "east-west", sourceTopic: "orders", partition: 0, records: "5", measuredAtMs },
      {
        flow: "east-west",
        sourceTopic: "orders",
        partition: 2,
        records: "7",
        measuredAtMs: measuredAtMs + 2000,
      },
    ]);
    assert.match(
      record.steps.find((s) => s.name === "records-at-risk")?.detail ?? "",
      /^12 records at risk in 2 partitions \(lag measured up to 4\d\d\d ms before\); group billing over east-west: no checkpoint$/,
    );
  });

  it("drills without moving anything and keeps the report; a drill without agents fails and says why", async () => {
    const passed = await runner.run(request({ dryRun: true, expectedEpoch: toEpoch(0) }));
    assert.equal(passed.record.outcome, "drill-passed");
    assert.equal(passed.state.epoch, 1n);
    assert.equal(passed.state.activeRegion, "us-east");
    assert.deepEqual(fakes.calls, [
      "check billing over east-west",
      "check billing over west-east to origin",
    ]);
    fakes.live.set("eu-west", []);
    const failed = await runner.run(request({ kind: "failover", dryRun: true }));
    assert.equal(failed.record.outcome, "drill-failed");
    assert.match(failed.record.error ?? "", /check-agents: region eu-west has no live agent/);
    assert.deepEqual(
      (await store.history("orders", 5)).map((r) => r.outcome),
      ["drill-failed", "drill-passed"],
    );
    assert.equal((await store.get("orders")).epoch, 1n);
  });

  it("a drill reports per group exactness and checkpoint freshness, and the expected RTO and RPO", async () => {
    fakes.lags.set("east-west", [lagOf(7)]);
    const drill = await runner.run(
      request({ kind: "failover", dryRun: true, expectedEpoch: toEpoch(0) }),
    );
    assert.equal(drill.record.outcome, "drill-passed", drill.record.error);
    const detail = (name: string) => drill.record.steps.find((s) => s.name === name)?.detail ?? "";
    assert.match(detail("check-source-down"), /0 of 3 failed probes now/);
    assert.match(detail("commit-offsets"), /group billing: 3 partitions translate exactly/);
    assert.match(detail("check-checkpoints"), /group billing: 3 checkpoints, exact, oldest 1\.0 s/);
    assert.match(detail("expected-rto"), /estimated/);
    assert.ok((drill.record.rtoMs ?? 0) > 0);
    assert.equal(drill.record.rpoRecords, "7");

    // Stale checkpoints fail a failover drill; a switchover drill only reports them.
    fakes.checkpointSummaries.set("east-west/billing", {
      partitions: 3,
      inexact: [],
      oldestAgeMs: 120_000,
    });
    const stale = await runner.run(
      request({ kind: "failover", dryRun: true, expectedEpoch: toEpoch(0) }),
    );
    assert.equal(stale.record.outcome, "drill-failed");
    assert.match(
      stale.record.error ?? "",
      /check-checkpoints: the oldest checkpoint of group billing is 120\.0 s old/,
    );
    const switchover = await runner.run(request({ dryRun: true, expectedEpoch: toEpoch(0) }));
    assert.equal(switchover.record.outcome, "drill-passed", switchover.record.error);
    assert.match(
      switchover.record.steps.find((s) => s.name === "check-checkpoints")?.detail ?? "",
      /120\.0 s old.*\(a switchover reads live positions\)/,
    );
    assert.equal(switchover.record.rpoRecords, "0");
  });
});
