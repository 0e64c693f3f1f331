import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "@geo/logging";
import { Registry } from "@geo/metrics";
import { type CheckpointTimes, CommitCheckpoints } from "./commit-checkpoints";
import { CommitRecordError } from "./commit-record";
import { flowDirectoryFromConfig } from "./flows";
import type { OffsetsCore } from "./offsets-core";
import { registerOffsetsMetrics } from "./offsets-metrics";
import type { SourcePosition, Translation } from "./translate";

const flows = flowDirectoryFromConfig([
  {
    name: "f",
    source: "east",
    target: "west",
    naming: "prefix",
    topics: { include: ["orders"], exclude: [] },
    groups: { include: ["billing.*"], exclude: [] },
  } as never,
]);

/** An OffsetCommitKey / OffsetCommitValue v3 pair of `__consumer_offsets`. */
function commitRecord(group: string, partition: number, offset: number, topic = "orders") {
  const str = (s: string) => {
    const b = Buffer.alloc(2 + s.length);
    b.writeInt16BE(s.length);
    b.write(s, 2);
    return b;
  };
  const part = Buffer.alloc(4);
  part.writeInt32BE(partition);
  const key = Buffer.concat([Buffer.from([0, 1]), str(group), str(topic), part]);
  const head = Buffer.alloc(14);
  head.writeInt16BE(3);
  head.writeBigInt64BE(BigInt(offset), 2);
  head.writeInt32BE(0, 10);
  const time = Buffer.alloc(8);
  time.writeBigInt64BE(BigInt(Date.now()));
  return { key, value: Buffer.concat([head, str(""), time]) };
}

function setUp(options: { maxPending?: number; coalesceMs?: number } = {}) {
  const registry = new Registry();
  const metrics = registerOffsetsMetrics(registry, {
    indexStats: () => ({ partitions: 0, runs: 0, segmentRecords: 0 }),
    checkpointTimes: () => [],
  });
  const writes: { group: string; translations: readonly Translation[] }[][] = [];
  /** Writes to fail, and what arrives while one is out. */
  const failing = { count: 0, during: () => {} };
  /** Writes wait for it while set (a slow target). */
  const gate: { until?: Promise<void> } = {};
  const core = {
    flows,
    logger: createLogger({ service: "test", level: "silent" }),
    targets: { isBuilt: () => true },
    translate: (_flow: unknown, positions: readonly SourcePosition[]) =>
      positions.map((p) => ({
        sourceTopic: p.topic,
        partition: p.partition,
        sourceOffset: p.offset,
      })),
    writer: {
      writeMany: async (
        _flow: unknown,
        entries: { group: string; translations: Translation[] }[],
      ) => {
        await gate.until;
        if (failing.count > 0) {
          failing.count--;
          failing.during();
          throw new Error("target down");
        }
        writes.push(entries);
        return entries.length;
      },
    },
  } as unknown as OffsetsCore;
  const times: CheckpointTimes = new Map();
  const commits = new CommitCheckpoints(core, metrics, times, {}, options);
  const counted = async (outcome: string) => {
    const metric = await registry.getSingleMetric("geo_offsets_commit_records_total")!.get();
    return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  };
  const feed = (r: { key: Buffer | null; value: Buffer | null }) =>
    commits.accept("east", r.key, r.value);
  const failNextWrite = (during: () => void) => {
    failing.count = 1;
    failing.during = during;
  };
  /** Holds every write until the returned function is called. */
  const holdWrites = () => {
    let release = () => {};
    gate.until = new Promise<void>((resolve) => {
      release = resolve;
    });
    return () => {
      gate.until = undefined;
      release();
    };
  };
  return { commits, writes, times, counted, feed, failNextWrite, holdWrites };
}

const offsetsOf = (entries: { group: string; translations: readonly Translation[] }[]) =>
  entries.flatMap((e) => e.translations.map((t) => `${e.group}/${t.partition}@${t.sourceOffset}`));

test("the latest commit of each selected group's partition is written at the next pass", async () => {
  const { commits, writes, times, counted, feed } = setUp();
  feed(commitRecord("billing", 0, 10));
  feed(commitRecord("billing", 0, 25));
  feed(commitRecord("billing", 1, 7));
  feed(commitRecord("other-app", 0, 99));
  feed(commitRecord("billing", 0, 5, "not-replicated"));
  await commits.pass();
  assert.deepEqual(writes.map(offsetsOf), [["billing/0@25", "billing/1@7"]]);
  assert.ok(times.has("f\u0000billing"));
  assert.equal(await counted("followed"), 3);
  assert.equal(await counted("unselected"), 2);
  await commits.pass();
  assert.equal(writes.length, 1, "nothing new: nothing written");
});

test("bad and unknown records are counted and skipped; tombstones and group metadata ignored", async () => {
  const { commits, writes, counted, feed } = setUp();
  assert.throws(() => feed({ key: Buffer.from([0, 1, 0]), value: null }), CommitRecordError);
  const badValue = commitRecord("billing", 0, 1);
  badValue.value.writeInt16BE(42, 0);
  assert.throws(() => feed(badValue), CommitRecordError);
  feed({ key: Buffer.from([0, 2, 0, 1, 0x67]), value: Buffer.from([0, 3]) });
  feed({ key: commitRecord("billing", 0, 1).key, value: null });
  feed(commitRecord("billing", 2, 3));
  await commits.pass();
  assert.deepEqual(writes.map(offsetsOf), [["billing/2@3"]]);
  assert.equal(await counted("undecodable"), 2);
  assert.equal(await counted("other"), 1);
  assert.equal(await counted("deleted"), 1);
});

test("pending partitions are bounded; a failed write is retried unless a newer commit came", async () => {
  const { commits, writes, counted, feed, failNextWrite } = setUp({ maxPending: 2 });
  feed(commitRecord("billing", 0, 1));
  feed(commitRecord("billing", 1, 1));
  feed(commitRecord("billing", 2, 1));
  feed(commitRecord("billing", 1, 2));
  assert.equal(await counted("dropped"), 1);
  // Partition 1 is committed again while the write of its offset 2 fails.
  failNextWrite(() => feed(commitRecord("billing", 1, 3)));
  await commits.pass();
  assert.equal(writes.length, 0);
  await commits.pass();
  assert.deepEqual(writes.flatMap(offsetsOf).sort(), ["billing/0@1", "billing/1@3"]);
});

test("a flush writes the group's followed commits at once, and no other group's", async () => {
  const { commits, writes, feed } = setUp();
  feed(commitRecord("billing", 0, 10));
  feed(commitRecord("billing", 0, 25));
  feed(commitRecord("billing-eu", 1, 7));
  assert.equal(await commits.flush("f", "billing"), "written");
  assert.deepEqual(writes.map(offsetsOf), [["billing/0@25"]]);
  assert.equal(await commits.flush("f", "billing"), "nothing");
  assert.equal(await commits.flush("f", "other-app"), "nothing");
  await commits.pass();
  assert.deepEqual(writes.map(offsetsOf), [["billing/0@25"], ["billing-eu/1@7"]]);
});

test("a flush waits for the write in flight, then writes the newer commit after it", async () => {
  const { commits, writes, feed, failNextWrite, holdWrites } = setUp();
  feed(commitRecord("billing", 0, 10));
  const release = holdWrites();
  const pass = commits.pass();
  await new Promise((resolve) => setImmediate(resolve));
  // Taken by the pass being written: not pending, yet not written either.
  const flushed = commits.flush("f", "billing", 5000);
  feed(commitRecord("billing", 1, 3));
  release();
  assert.equal(await flushed, "written");
  await pass;
  assert.deepEqual(writes.map(offsetsOf), [["billing/0@10"], ["billing/1@3"]]);
  // The pass in flight fails while a newer commit comes: the flush writes the newer one and
  // the failed one is not put back over it.
  feed(commitRecord("billing", 0, 20));
  failNextWrite(() => feed(commitRecord("billing", 0, 30)));
  const releaseFailing = holdWrites();
  const failing = commits.pass();
  await new Promise((resolve) => setImmediate(resolve));
  const flushedAgain = commits.flush("f", "billing", 5000);
  releaseFailing();
  assert.equal(await flushedAgain, "written");
  await failing;
  await commits.pass();
  assert.deepEqual(writes.slice(2).map(offsetsOf), [["billing/0@30"]]);
});

test("a flush gives up waiting after its time and the write lands later; a failed one says so", async () => {
  const { commits, writes, feed, failNextWrite, holdWrites } = setUp();
  feed(commitRecord("billing", 0, 10));
  const release = holdWrites();
  assert.equal(await commits.flush("f", "billing", 20), "timeout");
  assert.equal(writes.length, 0);
  release();
  await commits.pass();
  assert.deepEqual(writes.map(offsetsOf), [["billing/0@10"]]);
  feed(commitRecord("billing", 0, 11));
  failNextWrite(() => {});
  assert.equal(await commits.flush("f", "billing"), "failed");
  await commits.pass();
  assert.deepEqual(writes.slice(1).map(offsetsOf), [["billing/0@11"]], "retried at the next pass");
});

test("passes as far apart as the configuration allows start and stop", async () => {
  const { commits } = setUp({ coalesceMs: 60_000 });
  commits.start();
  await commits.close();
});
