import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createBackoff, delayAfter, runLoop, sleep } from "./backoff";

describe("createBackoff", () => {
  it("grows exponentially to the cap, jittered within [d/2, d]", () => {
    const low = createBackoff({ initialMs: 100, maxMs: 1_000, random: () => 0 });
    const high = createBackoff({ initialMs: 100, maxMs: 1_000, random: () => 0.999999 });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => Math.round(low.next())),
      [50, 100, 200, 400, 500, 500],
    );
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => Math.round(high.next())),
      [100, 200, 400, 800, 1_000],
    );
  });

  it("starts over after reset and counts failures", () => {
    const backoff = createBackoff({ initialMs: 10, random: () => 0 });
    backoff.next();
    backoff.next();
    assert.equal(backoff.failures, 2);
    backoff.reset();
    assert.equal(backoff.failures, 0);
    assert.equal(backoff.next(), 5);
  });

  it("delayAfter gives the same delays without state", () => {
    const options = { initialMs: 100, maxMs: 1_000, random: () => 0.999999 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 50].map((failures) => Math.round(delayAfter(failures, options))),
      [100, 200, 400, 800, 1_000, 1_000],
    );
  });

  it("refuses nonsense options", () => {
    assert.throws(() => createBackoff({ initialMs: 0 }), /initialMs/);
    assert.throws(() => createBackoff({ initialMs: 10, maxMs: 5 }), /maxMs/);
    assert.throws(() => createBackoff({ factor: 0.5 }), /factor/);
  });
});

describe("runLoop", () => {
  it("survives failures, backs off, resets on success and stops on abort", async () => {
    const controller = new AbortController();
    const delays: number[] = [];
    let calls = 0;
    const loop = runLoop(
      async () => {
        calls += 1;
        if (calls <= 3) throw new Error(`broken ${calls}`);
        if (calls === 5) controller.abort();
      },
      {
        intervalMs: 1,
        initialMs: 2,
        maxMs: 8,
        random: () => 0,
        signal: controller.signal,
        onError: (_error, delay) => delays.push(delay),
      },
    );
    await loop;
    assert.equal(calls, 5);
    assert.deepEqual(delays, [1, 2, 4]);
  });

  it("sleep returns at once when aborted", async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = sleep(10_000, controller.signal);
    controller.abort();
    await pending;
    assert.ok(Date.now() - started < 1_000);
  });
});
