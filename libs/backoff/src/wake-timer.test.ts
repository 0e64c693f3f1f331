import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WakeTimer } from "./wake-timer";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("WakeTimer", () => {
  it("wakes once, at the earliest time asked for", async () => {
    let wakes = 0;
    const timer = new WakeTimer(() => {
      wakes += 1;
    });
    const start = performance.now();
    timer.wakeAt(start + 200);
    timer.wakeAt(start + 30);
    timer.wakeAt(start + 100);
    await sleep(80);
    assert.equal(wakes, 1);
    await sleep(200);
    assert.equal(wakes, 1, "the later wake-ups were replaced by the earlier one");
  });

  it("re-arms after a wake-up and does nothing once cancelled", async () => {
    let wakes = 0;
    const timer = new WakeTimer(() => {
      wakes += 1;
    });
    timer.wakeAt(performance.now());
    await sleep(20);
    timer.wakeAt(performance.now() + 10);
    await sleep(40);
    assert.equal(wakes, 2);
    timer.wakeAt(performance.now() + 10);
    timer.cancel();
    timer.wakeAt(Infinity);
    await sleep(40);
    assert.equal(wakes, 2);
  });
});
