#!/usr/bin/env node
// Wire compatibility of proto/ against the `main` branch, for the rules in buf.yaml (FILE).
// Skipped, with the reason, while `main` has no protos yet: the repository's first commits
// predate them, and comparing against nothing proves nothing.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function git(...args) {
  return spawnSync("git", args, { cwd: root, encoding: "utf8" });
}

function skip(reason) {
  console.log(`buf breaking skipped: ${reason}`);
  process.exit(0);
}

if (git("rev-parse", "--git-dir").status !== 0) skip("not a git checkout");
if (git("rev-parse", "--verify", "--quiet", "refs/heads/main^{commit}").status !== 0) {
  skip("no local `main` branch to compare against");
}
const tree = git("ls-tree", "-d", "--name-only", "refs/heads/main", "proto");
if (tree.status !== 0 || tree.stdout.trim() !== "proto")
  skip("branch `main` has no proto/ directory yet");

const result = spawnSync(
  join(root, "node_modules", ".bin", "buf"),
  ["breaking", "--against", ".git#branch=main"],
  { cwd: root, stdio: "inherit" },
);
if (result.status !== 0) {
  console.error(
    "buf breaking: proto/ breaks wire or source compatibility with `main` (see above). " +
      "Add a new field, message or package version instead of changing an existing one.",
  );
}
process.exit(result.status ?? 1);
