import assert from "node:assert/strict";
import { test } from "node:test";
import { toEpoch } from "@geo/positions";
import { OffsetRuns } from "./offset-runs";

const unit = { flow: "f", sourceTopic: "t", partition: 0 };
const runs = () => new OffsetRuns(unit, toEpoch(3), "us-east.t", "agent");
const shape = (r: OffsetRuns) =>
  r.take().map((s) => [s.sourceStart, s.targetStart, s.count] as const);

test("contiguous pieces extend one run, rewritten under the same key", () => {
  const r = runs();
  r.add(0n, 100n, 10n);
  r.add(10n, 110n, 5n);
  assert.deepEqual(shape(r), [[0n, 100n, 15n]]);
  r.add(15n, 115n, 1n);
  assert.deepEqual(shape(r), [[0n, 100n, 16n]]);
  assert.equal(r.hasDirty, false);
});

test("a gap on either side starts a new run", () => {
  const r = runs();
  r.addBatch(
    [
      [0n, 3],
      [7n, 2],
    ],
    0n,
  );
  r.add(9n, 20n, 1n); // target gap: someone else wrote in between
  assert.deepEqual(shape(r), [
    [0n, 0n, 3n],
    [7n, 3n, 2n],
    [9n, 20n, 1n],
  ]);
  assert.ok(r.isOpen(9n));
  r.breakRun();
  r.add(10n, 21n, 1n);
  assert.deepEqual(shape(r), [[10n, 21n, 1n]]);
});

test("segments of a failed write come back unless a newer version is pending", () => {
  const r = runs();
  r.add(0n, 0n, 5n);
  const taken = r.take();
  r.add(5n, 5n, 5n); // extends the same run: pending with count 10
  r.restore(taken);
  assert.deepEqual(shape(r), [[0n, 0n, 10n]]);
  r.add(20n, 20n, 1n);
  const lost = r.take();
  r.restore(lost);
  assert.deepEqual(shape(r), [[20n, 20n, 1n]]);
});
