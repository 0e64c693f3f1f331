#!/usr/bin/env node
// Fails when libs/proto/src/gen differs from what `buf generate` makes of proto/ now, so a proto
// change can never ship without its generated code (or hand edits to generated code survive); and
// when config/geo.schema.json differs from what the config schema in libs/config generates.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const committedDir = join(root, "libs", "proto", "src", "gen");

function listFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

const scratch = mkdtempSync(join(tmpdir(), "geo-check-generated-"));
try {
  // `--output` prefixes every plugin `out` of buf.gen.yaml, so the same template, plugin and
  // options write into scratch/libs/proto/src/gen.
  const result = spawnSync(
    join(root, "node_modules", ".bin", "buf"),
    ["generate", "--output", scratch],
    {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}` },
    },
  );
  if (result.status !== 0) {
    console.error(`check-generated: buf generate failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
  const freshDir = join(scratch, "libs", "proto", "src", "gen");
  const fresh = new Map(listFiles(freshDir).map((path) => [relative(freshDir, path), path]));
  const committed = new Map(
    listFiles(committedDir).map((path) => [relative(committedDir, path), path]),
  );
  const problems = [];
  for (const [name, path] of fresh) {
    const mine = committed.get(name);
    if (mine === undefined) problems.push(`missing:  ${name}`);
    else if (!readFileSync(mine).equals(readFileSync(path))) problems.push(`differs:  ${name}`);
  }
  for (const name of committed.keys()) {
    if (!fresh.has(name)) problems.push(`stale:    ${name} (no proto generates it any more)`);
  }
  if (problems.length > 0) {
    console.error("Generated code in libs/proto/src/gen does not match proto/:");
    for (const problem of problems) console.error(`  ${problem}`);
    console.error("Run `npm run generate` and commit the result.");
    process.exit(1);
  }
  console.log(`generated code matches proto/ (${fresh.size} files)`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

// The editors' JSON Schema of geo.yaml, from libs/config (built here if it is not yet).
const bin = (name) => join(root, "node_modules", ".bin", name);
const built = spawnSync(bin("tsc"), ["-b", "libs/config"], { cwd: root, stdio: "inherit" });
const schema =
  built.status === 0 &&
  spawnSync(process.execPath, [join(root, "scripts", "config-schema.mjs"), "--check"], {
    cwd: root,
    stdio: "inherit",
  });
if (built.status !== 0 || schema.status !== 0) process.exit(1);
