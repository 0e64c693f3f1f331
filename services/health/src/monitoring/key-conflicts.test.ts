import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KeyConflictTracker } from "./key-conflicts";

const write = (cluster: string, offset: number, timestamp: number) => ({
  cluster,
  topic: "orders",
  partition: 0,
  offset: BigInt(offset),
  timestamp,
});
const key = (k: string) => Buffer.from(k);

describe("KeyConflictTracker", () => {
  it("counts a key written in both clusters within the window, with both writes", () => {
    const t = new KeyConflictTracker({ windowMs: 1000, maxKeys: 1000 });
    assert.equal(t.observe(key("a"), write("us", 1, 100)), undefined);
    assert.equal(t.observe(key("a"), write("us", 2, 200)), undefined, "same cluster: no conflict");
    const conflict = t.observe(key("a"), write("eu", 7, 150));
    assert.deepEqual(conflict?.first, write("eu", 7, 150));
    assert.deepEqual(conflict?.second, write("us", 2, 200));
    assert.equal(t.observe(key("b"), write("us", 3, 300)), undefined);
    assert.equal(t.observe(key("b"), write("eu", 8, 1400)), undefined, "outside the window");
    assert.deepEqual([...t.counts], [["orders", 1]]);
    assert.equal(t.recent().length, 1);
    assert.equal(t.sampleRate, 1);
  });
  it("keeps at most maxKeys keys by sampling, and at most maxExamples examples", () => {
    const t = new KeyConflictTracker({ windowMs: 60_000, maxKeys: 100, maxExamples: 5 });
    for (let i = 0; i < 1000; i++) t.observe(key(`k${i}`), write("us", i, 1000 + i));
    assert.ok(t.keys <= 100, `${t.keys} keys`);
    assert.ok(t.sampleRate >= 8, `sample rate ${t.sampleRate}`);
    let conflicts = 0;
    for (let i = 0; i < 1000; i++)
      if (t.observe(key(`k${i}`), write("eu", i, 2000 + i))) conflicts++;
    // About 1000 / sampleRate keys are followed; every one of them conflicts.
    assert.ok(conflicts > 0 && conflicts <= 100, `${conflicts} conflicts`);
    assert.equal(t.recent().length, 5);
  });
  it("forgets writes older than the window", () => {
    const t = new KeyConflictTracker({ windowMs: 100, maxKeys: 1000 });
    t.observe(key("a"), write("us", 1, 0));
    t.observe(key("b"), write("us", 2, 500));
    assert.equal(t.keys, 1);
  });
});
