import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trackDir, untrackDir } from "./reaper";

/** The run id the suite runner exports; "adhoc" outside it (the demo, a developer's script). */
export function harnessRunId(): string {
  return process.env.GEO_HARNESS_RUN ?? "adhoc";
}

/**
 * A fresh temp dir named `geo-harness-<run>-<kind>-XXXXXX`. Every server command line contains
 * it, which is how scripts/check-orphans.mjs recognises this run's leftovers. The reaper removes
 * it if this process dies before removeHarnessDir().
 */
export function createHarnessDir(kind: string): string {
  const safeKind = kind.replace(/[^A-Za-z0-9_.-]/g, "_");
  const dir = mkdtempSync(join(tmpdir(), `geo-harness-${harnessRunId()}-${safeKind}-`));
  trackDir(dir);
  return dir;
}

/** Delete a harness dir, unless GEO_HARNESS_KEEP=1 asks to keep data and logs for a post-mortem. */
export function removeHarnessDir(dir: string): void {
  if (process.env.GEO_HARNESS_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
  untrackDir(dir);
}
