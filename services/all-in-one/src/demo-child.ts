// The demo's services run in one child process of their own process group. Stopping it is
// bounded: a child that does not exit within the bound after SIGTERM (hung, stopped, stuck in a
// close that never returns) is killed with its whole group, so Ctrl-C always ends the demo.
import type { ChildProcess } from "node:child_process";

export type ChildStop = "exited" | "killed";

const wait = (ms: number) =>
  new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), ms).unref());

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    // The child was spawned detached, so its pid is also its process group id.
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

/** SIGTERM, then SIGKILL to the child's group when it has not exited within `boundMs`. */
export async function stopChild(child: ChildProcess, boundMs: number): Promise<ChildStop> {
  if (hasExited(child)) return "exited";
  const exited = new Promise<"exited">((resolve) => child.once("exit", () => resolve("exited")));
  child.kill("SIGTERM");
  if ((await Promise.race([exited, wait(boundMs)])) === "exited") return "exited";
  killGroup(child);
  // SIGKILL cannot be caught; the exit event follows at once unless the kernel is overloaded.
  await Promise.race([exited, wait(2_000)]);
  return "killed";
}

/** Kills the child's group at once (second Ctrl-C). */
export function killChild(child: ChildProcess): void {
  if (!hasExited(child)) killGroup(child);
}
