// The parent's side of the watchdog described in reaper-main.ts.
import { type ChildProcess, spawn } from "node:child_process";
import type { Socket } from "node:net";
import { join } from "node:path";

let reaper: ChildProcess | undefined;
let exitHookInstalled = false;
const trackedPids = new Set<number>();
const trackedDirs = new Set<string>();

function spawnReaper(): ChildProcess {
  const child = spawn(process.execPath, [join(__dirname, "reaper-main.js")], {
    // detached: own session, so terminal signals and the parent's death do not take it along.
    detached: true,
    stdio: ["pipe", "ignore", "ignore"],
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  const forget = () => {
    if (reaper === child) reaper = undefined;
  };
  child.on("error", forget);
  // A reaper that died (someone killed it) is replaced on the next message, which replays
  // everything still tracked.
  child.on("exit", forget);
  // Neither the reaper nor its pipe may keep the parent's event loop alive.
  child.unref();
  const stdin = child.stdin as Socket;
  stdin.on("error", () => {});
  stdin.unref();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", terminateTrackedNow);
  }
  return child;
}

function send(message: Record<string, unknown>): void {
  if (reaper === undefined) {
    reaper = spawnReaper();
    for (const pid of trackedPids) if (message.watch !== pid) write({ watch: pid });
    for (const dir of trackedDirs) if (message.dir !== dir) write({ dir });
  }
  write(message);
}

function write(message: Record<string, unknown>): void {
  reaper?.stdin?.write(`${JSON.stringify(message)}\n`);
}

// On a normal exit the reaper starts the same work a moment later; signalling here saves that
// moment and needs no event loop.
function terminateTrackedNow(): void {
  for (const pid of trackedPids) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // Already gone.
    }
  }
}

/** Ask the reaper to terminate `pid` if this process ends before `untrackProcess(pid)`. */
export function trackProcess(pid: number): void {
  trackedPids.add(pid);
  send({ watch: pid });
}

export function untrackProcess(pid: number): void {
  if (!trackedPids.delete(pid)) return;
  send({ forget: pid });
}

/** Ask the reaper to remove `dir` (a harness temp dir) once this process has ended. */
export function trackDir(dir: string): void {
  trackedDirs.add(dir);
  send({ dir });
}

export function untrackDir(dir: string): void {
  if (!trackedDirs.delete(dir)) return;
  send({ undir: dir });
}
