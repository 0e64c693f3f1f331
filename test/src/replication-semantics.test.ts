// The replication engine's semantics against real Kafka: fencing by the lease guard, the count
// of records written again after a crash, a max.message.bytes mismatch reported before the
// target refuses a record, OffsetOutOfRange policies, transactional sources (aborted records and
// offset-map gaps), identity-named active-active without loops, release and pause.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createLogger } from "@geo/logging";
import { Registry } from "@geo/metrics";
import { NO_OFFSET, toEpoch, toOffset } from "@geo/positions";
import { createProgressStore, type ProgressStore, translateOffset, unitId } from "@geo/progress";
import {
  createReplicationEngine,
  type ReplicationEngine,
  type ReplicationEngineOptions,
} from "@geo/replication";
import {
  createTopic,
  endOffset,
  flowSpec,
  type Pair,
  readPartition,
  type Side,
  SOURCE,
  startPair,
  statusOf,
  TARGET,
  TS,
  unitsOf,
  waitCaughtUp,
} from "./support/replication-fixtures";
import { waitFor } from "./support/wait-for";

let pair: Pair;
let store: ProgressStore;
const engines: ReplicationEngine[] = [];

before(async () => {
  pair = await startPair("repl-semantics");
  store = createProgressStore(pair.target.wire);
});

after(async () => {
  for (const e of engines) await e.close().catch(() => {});
  await store?.close();
  await pair?.stop();
});

function engine(over: Partial<ReplicationEngineOptions> = {}): ReplicationEngine {
  const e = createReplicationEngine({
    agentId: `agent-${engines.length}`,
    clusters: pair.clusters,
    logger: pair.logger,
    deliveryTimeoutMs: 10_000,
    fetchMaxWaitMs: 100,
    progressIntervalMs: 50,
    ...over,
  });
  engines.push(e);
  return e;
}

async function send(side: Side, topic: string, values: string[], partition = 0): Promise<void> {
  const p = side.kafka.producer({ allowAutoTopicCreation: false });
  await p.connect();
  try {
    await p.send({
      topic,
      acks: -1,
      messages: values.map((value, i) => ({
        partition,
        value,
        timestamp: String(TS + BigInt(i)),
      })),
    });
  } finally {
    await p.disconnect();
  }
}

const values = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("leaseGuard false stops the unit at once: nothing more sent, no progress written", async () => {
  await createTopic(pair.source, "lease", 1);
  await createTopic(pair.target, "us-east.lease", 1);
  let leaseValid = true;
  const guarded: unknown[] = [];
  const e = engine({
    leaseGuard: (unit, epoch) => {
      guarded.push([unit.sourceTopic, epoch]);
      return leaseValid;
    },
  });
  const units = unitsOf(flowSpec("lease-flow"), "lease", 1, 7n);
  await e.assign(units);
  await send(pair.source, "lease", values("before", 100));
  await waitCaughtUp(pair.source, () => e.statuses(), units);
  await waitFor("progress 100 recorded", async () => {
    const p = await store.load([units[0]!.unit]);
    return p.get(unitId(units[0]!.unit))?.nextSourceOffset === 100n;
  });
  assert.ok(guarded.length > 0);

  leaseValid = false;
  await send(pair.source, "lease", values("after", 100));
  await waitFor("unit stopped", () => e.statuses()[0]?.state === "stopped");
  const [s] = e.statuses();
  assert.equal(s!.reason, "lease lost");
  await sleep(500);
  assert.equal(
    await endOffset(pair.target, "us-east.lease", 0),
    100n,
    "nothing sent after the lease was lost",
  );
  const all = await store.loadAll([units[0]!.unit]);
  assert.deepEqual(
    all.get(unitId(units[0]!.unit))!.map((p) => [p.epoch, p.nextSourceOffset]),
    [[7n, 100n]],
    "no progress written after the lease was lost",
  );
  // A stopped unit with the same epoch stays stopped; release hands back the recorded progress.
  await e.assign(units);
  assert.equal(e.statuses()[0]!.state, "stopped");
  assert.deepEqual(await e.release(units[0]!.unit), { nextSourceOffset: 100n });
  assert.equal(e.statuses().length, 0);
});

test("after a crash the records written since the last progress are written again, and counted", async () => {
  await createTopic(pair.source, "crash", 1);
  await createTopic(pair.target, "us-east.crash", 1);
  const flow = flowSpec("crash-flow");
  const key = unitsOf(flow, "crash", 1, 1n)[0]!.unit;
  const first = engine();
  await first.assign(unitsOf(flow, "crash", 1, 1n));
  await send(pair.source, "crash", values("a", 100));
  await waitCaughtUp(pair.source, () => first.statuses(), unitsOf(flow, "crash", 1, 1n));
  assert.equal(first.statuses()[0]!.resumeDuplicates, -1n, "a first start has nothing to resume");
  await first.close();

  // A graceful hand-over recorded everything: nothing is written twice. This owner then records
  // no progress (an hour's interval) and loses its lease, as a crashed agent would.
  let leaseValid = true;
  const crashing = engine({ progressIntervalMs: 3_600_000, leaseGuard: () => leaseValid });
  await crashing.assign(unitsOf(flow, "crash", 1, 2n));
  assert.equal(crashing.statuses()[0]!.resumeDuplicates, 0n);
  await send(pair.source, "crash", values("b", 300));
  await waitCaughtUp(pair.source, () => crashing.statuses(), unitsOf(flow, "crash", 1, 2n));
  leaseValid = false;
  await send(pair.source, "crash", values("c", 1));
  await waitFor("the crashed unit stopped", () => crashing.statuses()[0]?.state === "stopped");
  assert.equal((await store.load([key])).get(unitId(key))!.nextSourceOffset, 100n);

  const registry = new Registry();
  const next = engine({ metrics: registry });
  const units = unitsOf(flow, "crash", 1, 3n);
  await next.assign(units);
  await waitCaughtUp(pair.source, () => next.statuses(), units);
  const copied = (await readPartition(pair.target, "us-east.crash", 0)).map((r) =>
    r.value?.toString(),
  );
  const written = [...values("a", 100), ...values("b", 300), ...values("c", 1)];
  assert.deepEqual(copied, [...written.slice(0, 400), ...written.slice(100)]);
  assert.equal(next.statuses()[0]!.resumeDuplicates, 300n, "the 300 records written twice");
  assert.match(
    await registry.metrics(),
    /geo_agent_resume_duplicate_records_total\{flow="crash-flow",topic="crash",partition="0"\} 300/,
  );
});

test("identity naming: the records written again after a crash are counted exactly, other writers' records not", async () => {
  await createTopic(pair.source, "crash-id", 1);
  await createTopic(pair.target, "crash-id", 1);
  const flow = flowSpec("crash-id-flow", { naming: "identity" });
  const first = engine();
  await first.assign(unitsOf(flow, "crash-id", 1, 1n));
  await send(pair.source, "crash-id", values("a", 100));
  await waitCaughtUp(pair.source, () => first.statuses(), unitsOf(flow, "crash-id", 1, 1n));
  await first.close();
  // This owner records no progress and loses its lease, as a crashed agent would; meanwhile a
  // producer of the target's own region writes to the same (identity-named) partition.
  let leaseValid = true;
  const crashing = engine({ progressIntervalMs: 3_600_000, leaseGuard: () => leaseValid });
  await crashing.assign(unitsOf(flow, "crash-id", 1, 2n));
  await send(pair.source, "crash-id", values("b", 200));
  await send(pair.target, "crash-id", values("local", 7));
  await send(pair.source, "crash-id", values("c", 50));
  await waitCaughtUp(pair.source, () => crashing.statuses(), unitsOf(flow, "crash-id", 1, 2n));
  leaseValid = false;
  await send(pair.source, "crash-id", values("d", 1));
  await waitFor("the crashed unit stopped", () => crashing.statuses()[0]?.state === "stopped");

  const next = engine();
  const units = unitsOf(flow, "crash-id", 1, 3n);
  await next.assign(units);
  await waitCaughtUp(pair.source, () => next.statuses(), units);
  // Counted independently: target values seen before.
  const seen = new Set<string>();
  let duplicates = 0;
  for (const record of await readPartition(pair.target, "crash-id", 0)) {
    const value = record.value!.toString();
    if (seen.has(value)) duplicates += 1;
    seen.add(value);
  }
  assert.equal(duplicates, 250, "the 250 records of b and c written twice");
  await waitFor("the resume count", () => next.statuses()[0]!.resumeDuplicates >= 0n);
  assert.equal(
    next.statuses()[0]!.resumeDuplicates,
    BigInt(duplicates),
    "resumeDuplicates is the duplicates written, not counting the 7 local records",
  );
});

test("a source topic that accepts larger batches than its remote topic is reported at start; the first refused record stops that unit with the reason, another unit keeps running", async () => {
  await createTopic(pair.source, "big", 2, { "max.message.bytes": "2000000" });
  await createTopic(pair.target, "us-east.big", 2, { "max.message.bytes": "100000" });
  const registry = new Registry();
  const lines: string[] = [];
  const e = engine({
    metrics: registry,
    logger: createLogger({
      service: "repl-semantics-test",
      level: "warn",
      destination: { write: (line: string) => void lines.push(line) },
    }),
  });
  const units = unitsOf(flowSpec("big-flow"), "big", 2, 1n);
  await e.assign(units);
  // Before any record is sent, both units run and warn.
  for (const partition of [0, 1]) {
    const s = statusOf(e.statuses(), "big", partition)!;
    assert.equal(s.state, "running");
    assert.equal(s.warnings.length, 1, JSON.stringify(s.warnings));
    assert.match(
      s.warnings[0]!,
      /source topic big on us-east accepts batches of up to 2000000 bytes \(max\.message\.bytes\) but remote topic us-east\.big on eu-west only 100000/,
    );
  }
  const metrics = await registry.metrics();
  for (const partition of [0, 1]) {
    assert.match(
      metrics,
      new RegExp(
        `geo_agent_max_message_bytes_mismatch\\{flow="big-flow",topic="big",partition="${partition}"\\} 1`,
      ),
    );
  }
  // The limits are the topics': one log line for the two partitions.
  const warned = lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => String(entry.msg).includes("accepts larger batches"));
  assert.equal(warned.length, 1, lines.join("\n"));
  assert.equal(warned[0]!.level, "warn");
  assert.equal(warned[0]!.flow, "big-flow");
  assert.equal(warned[0]!.topic, "big");
  assert.equal(warned[0]!.remoteTopic, "us-east.big");
  assert.equal(warned[0]!.sourceMaxMessageBytes, 2_000_000);
  assert.equal(warned[0]!.targetMaxMessageBytes, 100_000);

  await send(pair.source, "big", values("small", 10), 0);
  await send(pair.source, "big", ["x".repeat(150_000)], 0);
  await send(pair.source, "big", values("later", 10), 0);
  await send(pair.source, "big", values("p1", 10), 1);
  await waitFor("big-0 in error", () => statusOf(e.statuses(), "big", 0)?.state === "error");
  const bad = statusOf(e.statuses(), "big", 0)!;
  assert.match(bad.reason, /refused.*(MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE)/);
  assert.equal(bad.nextSourceOffset, 10n, "progress stops before the refused record");
  // Stopped, the unit still counts what it has not copied: from its position to the source's end.
  await send(pair.source, "big", values("after-error", 5), 0);
  let lag = 0n;
  await waitFor(
    "big-0's lag counts every record behind it",
    () => {
      lag = statusOf(e.statuses(), "big", 0)!.lagRecords;
      return lag === 16n;
    },
    { timeoutMs: 15_000 },
  ).catch(() => assert.fail(`lag of big-0 in error: ${lag} records, 16 behind (21 + 5 - 10)`));
  assert.match(
    await registry.metrics(),
    /geo_agent_lag_records\{flow="big-flow",topic="big",partition="0"\} 16/,
  );
  // the other partition goes on
  await send(pair.source, "big", values("p1-more", 10), 1);
  await waitCaughtUp(pair.source, () => e.statuses(), [units[1]!]);
  assert.deepEqual(
    (await readPartition(pair.target, "us-east.big", 1)).map((r) => r.value?.toString()),
    [...values("p1", 10), ...values("p1-more", 10)],
  );
  assert.equal(await endOffset(pair.target, "us-east.big", 0), 10n);
  await waitFor("progress of big-0 recorded at 10", async () => {
    const p = await store.load([units[0]!.unit]);
    return p.get(unitId(units[0]!.unit))?.nextSourceOffset === 10n;
  });
});

test("OffsetOutOfRange: 'earliest' jumps with a warning and a metric; 'fail' stops with the offsets", async () => {
  await createTopic(pair.source, "oor", 2);
  await createTopic(pair.target, "us-east.oor", 2);
  await send(pair.source, "oor", values("a", 20), 0);
  await send(pair.source, "oor", values("b", 20), 1);
  // Retention (here: DeleteRecords) removed offsets the stored progress still points at.
  await pair.source.admin.fetchTopicMetadata({ topics: ["oor"] });
  await pair.source.admin.deleteTopicRecords({
    topic: "oor",
    partitions: [
      { partition: 0, offset: "10" },
      { partition: 1, offset: "10" },
    ],
  });
  const jump = flowSpec("oor-earliest", { onOffsetOutOfRange: "earliest" });
  const fail = flowSpec("oor-fail", { onOffsetOutOfRange: "fail" });
  const jumpUnit = unitsOf(jump, "oor", 1, 1n)[0]!;
  const failUnit = unitsOf(fail, "oor", 2, 1n)[1]!;
  for (const u of [jumpUnit, failUnit]) {
    await store.write({
      ...u.unit,
      epoch: toEpoch(1),
      nextSourceOffset: toOffset(5),
      lastTargetOffset: NO_OFFSET,
      agentId: "before",
      time: Date.now(),
    });
  }
  const registry = new Registry();
  const e = engine({ metrics: registry });
  await e.assign([jumpUnit, failUnit]);
  await waitCaughtUp(pair.source, () => e.statuses(), [jumpUnit]);
  await waitFor("oor-1 in error", () => statusOf(e.statuses(), "oor", 1)?.state === "error");

  const jumped = statusOf(e.statuses(), "oor", 0)!;
  assert.equal(jumped.state, "running");
  assert.equal(jumped.offsetResets, 1);
  assert.match(
    jumped.reason,
    /offset 5 .*out of range \(log start 10, high watermark 20\); jumped to 10/,
  );
  assert.match(
    await registry.metrics(),
    /geo_agent_offset_resets_total\{flow="oor-earliest",topic="oor",partition="0",policy="earliest"\} 1/,
  );
  assert.deepEqual(
    (await readPartition(pair.target, "us-east.oor", 0)).map((r) => r.value?.toString()),
    values("a", 20).slice(10),
  );

  const failed = statusOf(e.statuses(), "oor", 1)!;
  assert.match(
    failed.reason,
    /source offset 5 of oor-1 is out of range \(log start 10, high watermark 20\); onOffsetOutOfRange=fail/,
  );
  assert.equal(failed.nextSourceOffset, 5n);
  assert.equal(await endOffset(pair.target, "us-east.oor", 1), 0n);
});

test("startFrom latest skips what the source held before the unit started", async () => {
  await createTopic(pair.source, "late", 1);
  await createTopic(pair.target, "us-east.late", 1);
  await send(pair.source, "late", values("old", 5));
  const e = engine();
  const units = unitsOf(flowSpec("late-flow", { startFrom: "latest" }), "late", 1, 1n);
  await e.assign(units);
  await send(pair.source, "late", values("new", 5));
  await waitCaughtUp(pair.source, () => e.statuses(), units);
  assert.deepEqual(
    (await readPartition(pair.target, "us-east.late", 0)).map((r) => r.value?.toString()),
    values("new", 5),
  );
});

test("transactional source: aborted records are not replicated and the offset map has a gap", async () => {
  await createTopic(pair.source, "tx", 1);
  await createTopic(pair.target, "us-east.tx", 1);
  const tx = pair.source.kafka.producer({
    transactionalId: "repl-tx",
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await tx.connect();
  try {
    for (const [vals, commit] of [
      [["c1", "c2", "c3"], true],
      [["a1", "a2"], false],
      [["c4", "c5"], true],
    ] as const) {
      const t = await tx.transaction();
      await t.send({ topic: "tx", messages: vals.map((value) => ({ partition: 0, value })) });
      if (commit) await t.commit();
      else await t.abort();
    }
  } finally {
    await tx.disconnect();
  }
  // c1 c2 c3 COMMIT a1 a2 ABORT c4 c5 COMMIT: the last marker may land a moment after EndTxn.
  await waitFor(
    "the last COMMIT marker",
    async () => (await endOffset(pair.source, "tx", 0)) === 10n,
  );
  const e = engine();
  const units = unitsOf(flowSpec("tx-flow"), "tx", 1, 1n);
  await e.assign(units);
  await waitCaughtUp(pair.source, () => e.statuses(), units);
  const copied = await readPartition(pair.target, "us-east.tx", 0);
  assert.deepEqual(
    copied.map((r) => r.value?.toString()),
    ["c1", "c2", "c3", "c4", "c5"],
  );
  await e.close();
  const segs = (await store.loadSegments(units.map((u) => u.unit))).get(unitId(units[0]!.unit))!;
  assert.deepEqual(
    segs.map((s) => [s.epoch, s.sourceStart, s.targetStart, s.count]),
    [
      [1n, 0n, 0n, 3n],
      [1n, 7n, 3n, 2n],
    ],
  );
  assert.equal(segs[0]!.remoteTopic, "us-east.tx");
  // A consumer that committed 3 (the marker) or 5 (inside the aborted run) resumes at c4.
  assert.equal(translateOffset(segs, toOffset(3)), 3n);
  assert.equal(translateOffset(segs, toOffset(5)), 3n);
  assert.equal(translateOffset(segs, toOffset(8)), 4n);
  assert.equal(translateOffset(segs, toOffset(9)), 5n);
  const p = (await store.load(units.map((u) => u.unit))).get(unitId(units[0]!.unit))!;
  assert.equal(p.nextSourceOffset, 10n);
  assert.equal(p.lastTargetOffset, 4n);
});

test("identity naming both ways with the provenance header: each record exactly once in each cluster", async () => {
  await createTopic(pair.source, "shared", 2);
  await createTopic(pair.target, "shared", 2);
  const ab = flowSpec(`${SOURCE}->${TARGET}`, { naming: "identity", provenanceHeader: true });
  const ba = flowSpec(`${TARGET}->${SOURCE}`, {
    naming: "identity",
    provenanceHeader: true,
    sourceCluster: TARGET,
    targetCluster: SOURCE,
  });
  const eAB = engine();
  const eBA = engine();
  await eAB.assign(unitsOf(ab, "shared", 2, 1n));
  await eBA.assign(unitsOf(ba, "shared", 2, 1n));
  await Promise.all([
    send(pair.source, "shared", values("A0", 150), 0),
    send(pair.source, "shared", values("A1", 150), 1),
    send(pair.target, "shared", values("B0", 150), 0),
    send(pair.target, "shared", values("B1", 150), 1),
  ]);
  const expected = (p: number) => [...values(`A${p}`, 150), ...values(`B${p}`, 150)].sort();
  for (const side of [pair.source, pair.target]) {
    for (const p of [0, 1]) {
      await waitFor(`${side.alias} shared-${p} holds 300 records`, async () => {
        return (await endOffset(side, "shared", p)) >= 300n;
      });
    }
  }
  // Let both engines run past everything (a looping record would show up as growth).
  await waitCaughtUp(pair.source, () => eAB.statuses(), unitsOf(ab, "shared", 2, 1n));
  await waitCaughtUp(pair.target, () => eBA.statuses(), unitsOf(ba, "shared", 2, 1n));
  await sleep(500);
  for (const side of [pair.source, pair.target]) {
    const other = side === pair.source ? TARGET : SOURCE;
    for (const p of [0, 1]) {
      const records = await readPartition(side, "shared", p);
      assert.deepEqual(
        records.map((r) => r.value?.toString()).sort(),
        expected(p),
        `${side.alias} shared-${p}: each record once`,
      );
      for (const r of records) {
        const local = r.value!.toString().startsWith(side === pair.source ? "A" : "B");
        const origin = r.headers.filter((h) => h.key.toString() === "geo.origin");
        if (local) assert.equal(origin.length, 0);
        else {
          assert.equal(origin.length, 1);
          assert.equal(origin[0]!.value!.toString(), other);
          assert.equal(r.headers.at(-1), origin[0], "the provenance header comes last");
        }
      }
    }
  }
  const skipped = (e: ReplicationEngine) => e.statuses().reduce((n, s) => n + s.skippedRecords, 0);
  assert.equal(skipped(eAB), 300, "A→B skipped the records that came from B");
  assert.equal(skipped(eBA), 300, "B→A skipped the records that came from A");
});

test("pause holds the position; resume goes on", async () => {
  await createTopic(pair.source, "pause", 1);
  await createTopic(pair.target, "us-east.pause", 1);
  const e = engine();
  const flow = flowSpec("pause-flow");
  await e.assign(unitsOf(flow, "pause", 1, 1n));
  await send(pair.source, "pause", values("one", 10));
  await waitCaughtUp(pair.source, () => e.statuses(), unitsOf(flow, "pause", 1, 1n));
  await e.assign(unitsOf({ ...flow, paused: true }, "pause", 1, 1n));
  assert.equal(e.statuses()[0]!.state, "paused");
  await send(pair.source, "pause", values("two", 10));
  await sleep(400);
  assert.equal(await endOffset(pair.target, "us-east.pause", 0), 10n);
  assert.equal(e.statuses()[0]!.lagRecords >= 0n, true);
  await e.assign(unitsOf(flow, "pause", 1, 1n));
  await waitCaughtUp(pair.source, () => e.statuses(), unitsOf(flow, "pause", 1, 1n));
  assert.equal(await endOffset(pair.target, "us-east.pause", 0), 20n);
});

test("offset-map segments entirely below the source's log start are tombstoned, older epochs' too", async () => {
  await createTopic(pair.source, "clean", 1);
  await createTopic(pair.target, "us-east.clean", 1);
  const flow = flowSpec("clean-flow");
  const unit = unitsOf(flow, "clean", 1, 1n)[0]!.unit;
  await send(pair.source, "clean", values("a", 20));
  const tx = pair.source.kafka.producer({
    transactionalId: "repl-clean",
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await tx.connect();
  const t = await tx.transaction();
  await t.send({ topic: "clean", messages: [{ value: "t1" }, { value: "t2" }] });
  await t.commit();
  await tx.disconnect();
  await waitFor(
    "the COMMIT marker",
    async () => (await endOffset(pair.source, "clean", 0)) === 23n,
  );
  const e1 = engine();
  await e1.assign(unitsOf(flow, "clean", 1, 1n));
  await waitCaughtUp(pair.source, () => e1.statuses(), unitsOf(flow, "clean", 1, 1n));
  await e1.close();
  const e2 = engine();
  await e2.assign(unitsOf(flow, "clean", 1, 2n));
  await send(pair.source, "clean", values("b", 5));
  await waitCaughtUp(pair.source, () => e2.statuses(), unitsOf(flow, "clean", 1, 2n));
  const shape = async () =>
    ((await store.loadSegments([unit])).get(unitId(unit)) ?? []).map((s) => [
      s.epoch,
      s.sourceStart,
      s.count,
    ]);
  await waitFor("both runs recorded", async () => (await shape()).length === 2);
  assert.deepEqual(await shape(), [
    [1n, 0n, 22n],
    [2n, 23n, 5n],
  ]);
  await pair.source.admin.fetchTopicMetadata({ topics: ["clean"] });
  await pair.source.admin.deleteTopicRecords({
    topic: "clean",
    partitions: [{ partition: 0, offset: "23" }],
  });
  // The next (empty) fetch brings the new log start offset.
  await sleep(500);
  assert.deepEqual(await e2.cleanOffsetMap(), { tombstoned: 1 });
  assert.deepEqual(await shape(), [[2n, 23n, 5n]]);
});
