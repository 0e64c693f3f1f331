import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { createRoundScheduler } from "./round-scheduler";

/** A scheduler on mocked timers whose rounds end when the test says so. */
function setUp(t: TestContext) {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  let clock = 0;
  let allowed = true;
  const runs: number[] = [];
  const pending: (() => void)[] = [];
  const scheduler = createRoundScheduler({
    now: () => clock,
    canRun: () => allowed,
    run: () => {
      runs.push(clock);
      return new Promise<void>((resolve) => pending.push(resolve));
    },
  });
  const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    scheduler,
    runs,
    /** Moves the clock and fires the timers due. */
    advance(ms: number) {
      clock += ms;
      t.mock.timers.tick(ms);
    },
    /** Ends the round running and lets the scheduler react. */
    async finish() {
      pending.shift()?.();
      await flush();
    },
    forbid() {
      allowed = false;
    },
  };
}

describe("round scheduler", () => {
  it("runs once at the earliest time asked for", async (t) => {
    const { scheduler, runs, advance, finish } = setUp(t);
    scheduler.schedule(100);
    scheduler.schedule(50);
    scheduler.schedule(200);
    advance(49);
    assert.deepEqual(runs, []);
    advance(1);
    assert.deepEqual(runs, [50]);
    await finish();
    advance(500);
    assert.deepEqual(runs, [50], "the later requests were folded into the first run");
  });

  it("runs one more round after the running one when asked meanwhile, however often", async (t) => {
    const { scheduler, runs, advance, finish } = setUp(t);
    const first = scheduler.trigger();
    const second = scheduler.trigger();
    assert.equal(second, first, "a trigger while running waits for the running round");
    void scheduler.trigger();
    assert.equal(scheduler.running(), first);
    assert.deepEqual(runs, [0]);
    await finish();
    assert.equal(scheduler.running(), undefined);
    advance(0);
    assert.deepEqual(runs, [0, 0]);
    await finish();
    advance(1000);
    assert.deepEqual(runs, [0, 0]);
  });

  it("does not start a timer's round while one runs, but runs it right after", async (t) => {
    const { scheduler, runs, advance, finish } = setUp(t);
    void scheduler.trigger();
    scheduler.schedule(10);
    advance(10);
    assert.deepEqual(runs, [0]);
    await finish();
    advance(0);
    assert.deepEqual(runs, [0, 10]);
  });

  it("drops the round due on cancel, and runs none while it may not", async (t) => {
    const { scheduler, runs, advance, forbid } = setUp(t);
    scheduler.schedule(10);
    scheduler.cancel();
    advance(100);
    assert.deepEqual(runs, []);
    forbid();
    scheduler.schedule(0);
    await scheduler.trigger();
    advance(100);
    assert.deepEqual(runs, []);
  });
});
