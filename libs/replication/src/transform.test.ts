import assert from "node:assert/strict";
import { test } from "node:test";
import type { RecordsInput } from "@geo/kafka-wire";
import {
  CompressionType,
  encodeRecordBatch,
  type KafkaRecord,
  RecordBatch,
  type RecordInput,
  TimestampType,
} from "@geo/record-batch";
import { planBatch, type TransformContext } from "./transform";

const TS = 1_750_000_000_000n;
const ctx = (over: Partial<TransformContext> = {}): TransformContext => ({
  provenanceHeader: false,
  loopCheck: false,
  sourceAlias: "us-east",
  targetAlias: "eu-west",
  maxBatchBytes: 512 * 1024,
  ...over,
});

function batch(
  baseOffset: bigint,
  records: RecordInput[],
  over: { compression?: number; timestampType?: 0 | 1; maxTimestamp?: bigint } = {},
): RecordBatch {
  return new RecordBatch(encodeRecordBatch({ baseOffset, records, ...over }));
}

const rec = (i: number, headers: RecordInput["headers"] = []): RecordInput => ({
  timestamp: TS + BigInt(i),
  key: i % 3 === 0 ? null : i % 3 === 1 ? Buffer.alloc(0) : `k${i}`,
  value: i % 4 === 3 ? null : `v${i}`,
  headers,
});

/** Decodes what a plan would send, as a broker would store it. */
function output(input: RecordBatch | RecordsInput): KafkaRecord[] {
  if (input instanceof RecordBatch) return input.records();
  return new RecordBatch(
    encodeRecordBatch({ records: input.records, compression: input.compression ?? 0 }),
  ).records();
}

const view = (r: KafkaRecord) => ({
  timestamp: r.timestamp,
  attributes: r.attributes,
  key: r.key === null ? null : r.key.toString("hex"),
  value: r.value === null ? null : r.value.toString("hex"),
  headers: r.headers.map((h) => [h.keyString, h.value === null ? null : h.value.toString()]),
});

test("a contiguous batch at the position is forwarded as it is", () => {
  const b = batch(100n, [rec(0), rec(1), rec(2)], { compression: CompressionType.Gzip });
  const plan = planBatch(b, 100n, ctx());
  assert.equal(plan.batches.length, 1);
  assert.equal(plan.batches[0]!.input, b);
  assert.equal(plan.batches[0]!.forwarded, true);
  assert.deepEqual(plan.batches[0]!.sourceRuns, [[100n, 3]]);
  assert.equal(plan.sourceNext, 103n);
});

test("identity naming checks provenance but still forwards a batch with nothing to drop", () => {
  const b = batch(0n, [rec(0, [{ key: "geo.origin", value: "ap-south" }]), rec(1)]);
  const plan = planBatch(b, 0n, ctx({ loopCheck: true }));
  assert.equal(plan.batches[0]!.input, b);
  assert.equal(plan.skipped, 0);
});

test("a partial first batch is re-encoded from the position on, records byte-exact", () => {
  const records = [0, 1, 2, 3, 4].map((i) =>
    rec(i, [
      { key: "a", value: "1" },
      { key: "b", value: null },
      { key: "a", value: "3" },
    ]),
  );
  const b = batch(10n, records, { compression: CompressionType.Zstd });
  const plan = planBatch(b, 12n, ctx());
  assert.equal(plan.below, 2);
  const [out] = plan.batches;
  assert.equal(out!.forwarded, false);
  assert.equal((out!.input as RecordsInput).compression, CompressionType.Zstd);
  assert.deepEqual(out!.sourceRuns, [[12n, 3]]);
  assert.equal(out!.sourceNext, 15n);
  assert.deepEqual(output(out!.input).map(view), b.records().slice(2).map(view));
});

test("a compacted batch (offset gaps) is re-encoded contiguously; its runs keep the gaps", () => {
  const b = batch(50n, [
    { ...rec(0), offsetDelta: 0 },
    { ...rec(1), offsetDelta: 2 },
    { ...rec(2), offsetDelta: 3 },
    { ...rec(3), offsetDelta: 7 },
  ]);
  assert.equal(b.hasContiguousOffsets, false);
  const plan = planBatch(b, 50n, ctx());
  const [out] = plan.batches;
  assert.equal(out!.forwarded, false);
  assert.deepEqual(out!.sourceRuns, [
    [50n, 1],
    [52n, 2],
    [57n, 1],
  ]);
  assert.equal(out!.sourceNext, 58n);
  assert.deepEqual(output(out!.input).map(view), b.records().map(view));
});

test("the provenance header goes after the source's headers, once", () => {
  const b = batch(0n, [
    rec(0, [
      { key: "x", value: "1" },
      { key: "x", value: "2" },
    ]),
    rec(1, [{ key: "geo.origin", value: "ap-south" }]),
  ]);
  const plan = planBatch(b, 0n, ctx({ provenanceHeader: true, loopCheck: true }));
  const out = output(plan.batches[0]!.input).map(view);
  assert.deepEqual(out[0]!.headers, [
    ["x", "1"],
    ["x", "2"],
    ["geo.origin", "us-east"],
  ]);
  assert.deepEqual(
    out[1]!.headers,
    [["geo.origin", "ap-south"]],
    "an origin already named is kept",
  );
});

test("records that came from the target are dropped and the position still moves past them", () => {
  const from = (origin: string, i: number) => rec(i, [{ key: "geo.origin", value: origin }]);
  const b = batch(0n, [from("eu-west", 0), rec(1), from("eu-west", 2), rec(3)]);
  const plan = planBatch(b, 0n, ctx({ provenanceHeader: true, loopCheck: true }));
  assert.equal(plan.skipped, 2);
  assert.deepEqual(plan.batches[0]!.sourceRuns, [
    [1n, 1],
    [3n, 1],
  ]);
  assert.deepEqual(
    output(plan.batches[0]!.input).map((r) => r.value?.toString() ?? null),
    ["v1", null],
  );
  const all = planBatch(
    batch(7n, [from("eu-west", 0), from("eu-west", 1)]),
    7n,
    ctx({ loopCheck: true }),
  );
  assert.deepEqual(all.batches, []);
  assert.equal(all.sourceNext, 9n);
});

test("LogAppendTime batches are re-encoded with the append time as create time", () => {
  const b = batch(0n, [rec(0), rec(1)], {
    timestampType: TimestampType.LogAppendTime,
    maxTimestamp: TS + 999n,
  });
  const plan = planBatch(b, 0n, ctx());
  assert.equal(plan.batches[0]!.forwarded, false);
  assert.deepEqual(
    output(plan.batches[0]!.input).map((r) => r.timestamp),
    [TS + 999n, TS + 999n],
  );
});

test("large re-encoded output is split; each part moves the position to just past itself", () => {
  const big = (i: number) => ({ ...rec(i), value: "z".repeat(400) });
  const b = batch(0n, [0, 1, 2, 3, 4].map(big));
  const plan = planBatch(b, 0n, ctx({ provenanceHeader: true, maxBatchBytes: 1000 }));
  assert.ok(plan.batches.length >= 2);
  assert.deepEqual(
    plan.batches.flatMap((p) => p.sourceRuns.map(([s, n]) => [s, n])),
    plan.batches.flatMap((p) => p.sourceRuns),
  );
  const covered = plan.batches.reduce((n, p) => n + p.recordCount, 0);
  assert.equal(covered, 5);
  assert.equal(plan.batches.at(-1)!.sourceNext, 5n);
  for (const p of plan.batches.slice(0, -1)) {
    const [s, n] = p.sourceRuns.at(-1)!;
    assert.equal(p.sourceNext, s + BigInt(n));
  }
});
