import assert from "node:assert/strict";
import { test } from "node:test";
import { RateWindow } from "./unit-stats";

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
