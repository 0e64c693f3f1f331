// The watchdog ("reaper") process. One runs per Node process that starts harness servers, in its
// own session so a Ctrl-C in the terminal does not reach it. Its stdin is a pipe from that parent:
// the parent announces, one JSON object per line, the pids and temp dirs it owns. When the pipe
// closes, however the parent ended (normal exit, uncaught error, signal, SIGKILL), the reaper
// terminates every announced process and removes the dirs, so no broker or redis-server outlives
// the test or demo that started it.
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, resolve } from "node:path";
import { createInterface } from "node:readline";
import { isProcessAlive, readProcessStat } from "./process-state";

const graceMs = Number(process.env.GEO_HARNESS_REAPER_GRACE_MS ?? 10_000);
const watched = new Map<number, string>();
const dirs = new Set<string>();
let reaping = false;

function stillOurs(pid: number): boolean {
  const stat = readProcessStat(pid);
  return stat !== undefined && stat.startTime === watched.get(pid) && isProcessAlive(pid);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter(stillOurs);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = left.filter(stillOurs);
  }
  return left;
}

async function reap(): Promise<void> {
  if (reaping) return;
  reaping = true;
  const pids = [...watched.keys()].filter(stillOurs);
  for (const pid of pids) signal(pid, "SIGTERM");
  const stubborn = await waitGone(pids, graceMs);
  for (const pid of stubborn) signal(pid, "SIGKILL");
  await waitGone(stubborn, 5_000);
  const tmp = resolve(tmpdir());
  for (const dir of dirs) {
    // Only ever delete what the harness itself creates.
    if (resolve(dir).startsWith(`${tmp}/`) && basename(dir).startsWith("geo-harness-")) {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.exit(0);
}

interface Message {
  watch?: number;
  forget?: number;
  dir?: string;
  undir?: string;
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  let message: Message;
  try {
    message = JSON.parse(line) as Message;
  } catch {
    return;
  }
  if (typeof message.watch === "number") {
    const stat = readProcessStat(message.watch);
    if (stat !== undefined) watched.set(message.watch, stat.startTime);
  }
  if (typeof message.forget === "number") watched.delete(message.forget);
  if (typeof message.dir === "string") dirs.add(message.dir);
  if (typeof message.undir === "string") dirs.delete(message.undir);
});
lines.on("close", () => void reap());
process.stdin.on("error", () => void reap());
// Signals sent to the reaper itself (for example by a broad kill) also mean "clean up now".
process.on("SIGTERM", () => void reap());
process.on("SIGHUP", () => void reap());
process.on("SIGINT", () => void reap());
