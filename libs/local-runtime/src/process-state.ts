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
