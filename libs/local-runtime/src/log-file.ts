import { closeSync, openSync, readSync, statSync } from "node:fs";

export function logFileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Text of `file` from byte `from` on (the part a restarted server appended). */
export function readLogFrom(file: string, from = 0): string {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return "";
  }
  try {
    const size = statSync(file).size;
    if (size <= from) return "";
    const buffer = Buffer.alloc(size - from);
    const read = readSync(fd, buffer, 0, buffer.length, from);
    return buffer.subarray(0, read).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** The last `lines` lines of `file`, at most 16 KiB, for error messages. */
export function readLogTail(file: string, lines = 40): string {
  const size = logFileSize(file);
  const text = readLogFrom(file, Math.max(0, size - 16_384));
  const all = text.split("\n");
  if (all.at(-1) === "") all.pop();
  const tail = all.slice(-lines).join("\n");
  return tail === "" ? `(${file} is empty)` : tail;
}
