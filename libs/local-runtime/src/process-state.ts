import { readFileSync } from "node:fs";

/** Fields of /proc/<pid>/stat that tell whether a pid still names the process we started. */
export interface ProcessStat {
  /** R, S, D, Z, X... A zombie (Z) has exited; only its parent's wait() is missing. */
  state: string;
  /** Clock ticks after boot; with the pid it identifies a process even after pid reuse. */
  startTime: string;
}

export function readProcessStat(pid: number): ProcessStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name in parentheses may itself contain spaces or parentheses.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const startTime = fields[19];
  if (state === undefined || startTime === undefined) return undefined;
  return { state, startTime };
}

/**
 * True while the process runs. A zombie counts as gone: once its parent (often the test process
 * that was killed) is dead, it is re-parented and holds no memory, ports or files.
 */
export function isProcessAlive(pid: number): boolean {
  const stat = readProcessStat(pid);
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X";
}

/** Resident set size in bytes, or undefined when the process is gone. */
export function processRssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process used, in clock ticks; undefined when it is gone. */
export function processCpuTicks(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Tells a starved process from a stuck one, for start-up bounds on a loaded machine: the
 * returned function samples the CPU time of `pids()` and is true while it grew within the last
 * `stallMs`. Call it on every poll. A process that only gets a sliver of the CPU still starts,
 * later; one waiting for something that never comes uses (almost) none.
 */
export function progressWatch(
  pids: () => readonly (number | undefined)[],
  stallMs = 30_000,
): () => boolean {
  let last: number | undefined;
  let changedAt = Date.now();
  return () => {
    const ticks = pids().reduce<number>((sum, pid) => {
      const used = pid === undefined ? undefined : processCpuTicks(pid);
      return sum + (used ?? 0);
    }, 0);
    if (ticks !== last) {
      last = ticks;
      changedAt = Date.now();
    }
    return Date.now() - changedAt < stallMs;
  };
}
