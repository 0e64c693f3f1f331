import assert from "node:assert/strict";
import { test } from "node:test";
import { RateWindow, SourceGrowth } from "./unit-stats";

test("a young rate window divides by the time it has existed, not by the whole window", () => {
  let now = 1_000_000;
  const rate = new RateWindow(10, () => now);
  for (let i = 0; i < 30; i++) {
    rate.add(10, 1000);
    now += 100;
  }
  // 3 s at 100 records/s: 100/s, not 300 records over ten seconds.
  assert.ok(Math.abs(rate.rates().recordsPerSecond - 100) < 1, `${rate.rates().recordsPerSecond}`);
  for (let i = 0; i < 200; i++) {
    rate.add(10, 1000);
    now += 100;
  }
  assert.ok(Math.abs(rate.rates().bytesPerSecond - 10_000) < 1_200);
});

test("source growth is the high watermark's rate, however fast the unit copies", () => {
  let now = 0;
  const growth = new SourceGrowth(10_000, () => now);
  growth.observe(1_000n);
  assert.equal(growth.recordsPerSecond(), undefined, "one sample says nothing");
  // Fetch answers every 50 ms while the source grows by 200 records/s.
  for (let i = 1; i <= 400; i++) {
    now += 50;
    growth.observe(1_000n + BigInt(i * 10));
  }
  assert.ok(Math.abs(growth.recordsPerSecond()! - 200) < 1, `${growth.recordsPerSecond()}`);
  // The source stops growing: within the window the rate falls to 0.
  for (let i = 0; i < 220; i++) {
    now += 50;
    growth.observe(5_000n);
  }
  assert.equal(growth.recordsPerSecond(), 0);
});

test("source growth starts over when the log goes back", () => {
  let now = 0;
  const growth = new SourceGrowth(10_000, () => now);
  growth.observe(10_000n);
  now += 2_000;
  growth.observe(12_000n);
  assert.equal(growth.recordsPerSecond(), 1_000);
  now += 1_000;
  growth.observe(50n); // topic recreated
  assert.equal(growth.recordsPerSecond(), undefined);
  now += 1_000;
  growth.observe(150n);
  assert.equal(growth.recordsPerSecond(), 100);
});
