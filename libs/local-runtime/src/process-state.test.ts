// progressWatch against real processes: one spinning on the CPU counts as working, one asleep
// stops counting once it used no CPU for the stall time.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, test } from "node:test";
import { processCpuTicks, progressWatch } from "./process-state";

const children = [
  spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }),
  spawn("sleep", ["60"], { stdio: "ignore" }),
];
after(() => {
  for (const child of children) child.kill("SIGKILL");
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("a process using CPU is working; one asleep is not, once the stall time passed", async () => {
  const [busy, asleep] = children.map((c) => c.pid!);
  const spinning = progressWatch(() => [busy], 1500);
  const sleeping = progressWatch(() => [asleep], 1500);
  const gone = progressWatch(() => [undefined, 999_999_999], 1500);
  assert.equal(spinning(), true, "within the stall time everything counts as working");
  assert.equal(sleeping(), true);
  // Poll as a start loop does: a spinning process's ticks grow between samples, even starved.
  const deadline = Date.now() + 3000;
  let spinningStayed = true;
  while (Date.now() < deadline) {
    spinningStayed &&= spinning();
    sleeping();
    gone();
    await pause(100);
  }
  assert.equal(spinningStayed, true);
  assert.equal(sleeping(), false, "sleep used no CPU for 1.5 s");
  assert.equal(gone(), false, "no process, no progress");
  assert.ok((processCpuTicks(busy!) ?? 0) > 0);
  assert.equal(processCpuTicks(999_999_999), undefined);
});
