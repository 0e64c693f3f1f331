import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { HarnessError, type HarnessErrorCode } from "./harness-error";

/** Absolute path of an executable on PATH (or in /usr/sbin, /usr/bin), if any. */
export function onPath(binary: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/bin"]) {
    if (dir === "") continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/**
 * `binary` from PATH, installing Debian's `pkg` with apt-get the first time it is missing (a
 * fresh machine runs the suite without preparation). Throws `code` saying how to install it.
 */
export function ensureDebianBinary(binary: string, pkg: string, code: HarnessErrorCode): string {
  const found = onPath(binary);
  if (found !== undefined) return found;
  process.stderr.write(`${binary} not found; installing Debian's ${pkg} with apt-get…\n`);
  // The dpkg lock timeout lets parallel test files wait for each other instead of failing.
  const apt = (args: string[]) =>
    spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=300", ...args], {
      encoding: "utf8",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 600_000,
    });
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", pkg]]) {
    const result = apt(args);
    if (result.status !== 0) {
      throw new HarnessError(
        code,
        `${binary} is not installed and "apt-get ${args.join(" ")}" failed (${result.error?.message ?? `exit ${result.status}`}); install it with: apt-get install -y ${pkg}\n${(result.stderr ?? "").slice(-2000)}`,
      );
    }
  }
  const installed = onPath(binary);
  if (installed === undefined) {
    throw new HarnessError(code, `apt-get installed ${pkg} but ${binary} is not on PATH`);
  }
  return installed;
}
