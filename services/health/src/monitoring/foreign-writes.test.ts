import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toOffset } from "@geo/positions";
import {
  type BatchView,
  classifyBatches,
  type PartitionWatch,
  uncoveredRanges,
} from "./foreign-writes";

const seg = (targetStart: bigint, count: bigint) => ({ targetStart: toOffset(targetStart), count });

function batch(baseOffset: bigint, count: number, producerId: bigint): BatchView {
  return {
    baseOffset,
    lastOffset: baseOffset + BigInt(count - 1),
    producerId,
    recordCount: count,
    records: () => Array.from({ length: count }, (_, i) => ({ offset: baseOffset + BigInt(i) })),
  };
}

const watch = (checkedTo: bigint): PartitionWatch => ({
  checkedTo,
  agentProducers: [],
  suspect: undefined,
  foreign: 0n,
  lastForeign: undefined,
});

describe("uncoveredRanges", () => {
  it("finds the gaps between, before and after the segments", () => {
    assert.deepEqual(uncoveredRanges(0n, 100n, [seg(10n, 20n), seg(30n, 10n), seg(50n, 10n)]), [
      [0n, 10n],
      [40n, 50n],
      [60n, 100n],
    ]);
  });
  it("handles overlapping segments (copies of several epochs) and a start inside one", () => {
    assert.deepEqual(uncoveredRanges(15n, 40n, [seg(10n, 20n), seg(20n, 15n)]), [[35n, 40n]]);
    assert.deepEqual(uncoveredRanges(5n, 5n, [seg(0n, 3n)]), []);
    assert.deepEqual(uncoveredRanges(0n, 30n, [seg(0n, 30n)]), []);
  });
});

describe("classifyBatches", () => {
  const context = { now: 1000, graceMs: 500, agentOffset: 9n };
  it("takes the producer of the covered batch before a gap as an agent's (orphan copies)", () => {
    const w = watch(10n);
    const out = classifyBatches(w, [10n, 20n], [batch(5n, 5, 7n), batch(10n, 10, 7n)], context);
    assert.deepEqual(out, { foreign: 0n, stopped: false });
    assert.equal(w.checkedTo, 20n);
    assert.deepEqual(w.agentProducers, [7n]);
  });
  it("waits the grace period for an unknown producer, then counts its records as foreign", () => {
    const w = watch(10n);
    const batches = [batch(5n, 5, 7n), batch(10n, 4, -1n), batch(14n, 6, 7n)];
    assert.deepEqual(classifyBatches(w, [10n, 20n], batches, context), {
      foreign: 0n,
      stopped: true,
    });
    assert.equal(w.checkedTo, 10n);
    assert.deepEqual(classifyBatches(w, [10n, 20n], batches, { ...context, now: 1400 }), {
      foreign: 0n,
      stopped: true,
    });
    assert.deepEqual(classifyBatches(w, [10n, 20n], batches, { ...context, now: 1500 }), {
      foreign: 4n,
      stopped: false,
    });
    assert.equal(w.foreign, 4n);
    assert.equal(w.checkedTo, 20n);
    assert.deepEqual(w.lastForeign, { offset: 13n, producerId: -1n, time: 1500 });
  });
  it("counts only the records inside the range, from where the last round stopped", () => {
    const w = watch(12n);
    w.suspect = { offset: 10n, since: 0 };
    const out = classifyBatches(w, [10n, 15n], [batch(10n, 10, 99n)], {
      ...context,
      agentOffset: undefined,
    });
    assert.deepEqual(out, { foreign: 3n, stopped: false });
    assert.equal(w.checkedTo, 15n);
  });
});
