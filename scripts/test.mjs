#!/usr/bin/env node
// The whole suite, as CI runs it: build, static checks, then unit and integration tests against
// real Kafka and Redis, then a check that no broker or redis-server outlived the run.
// `npm test -- <compiled test files>` builds and runs only those files (no static checks).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const selected = process.argv.slice(2);

// Every harness process started under this run carries the id in its data-dir path, so the
// orphan check can tell our leftovers from a demo someone is running beside the suite.
const runId =
  process.env.GEO_HARNESS_RUN ?? `t${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
const env = { ...process.env, GEO_HARNESS_RUN: runId };

function step(title, command, args) {
  const started = Date.now();
  process.stdout.write(`\n== ${title}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    process.stdout.write(
      `== ${title}: FAILED after ${seconds}s (exit ${result.status ?? result.signal})\n`,
    );
    return false;
  }
  process.stdout.write(`== ${title}: ok in ${seconds}s\n`);
  return true;
}

const node = process.execPath;
let ok = step("build (tsc -b)", bin("tsc"), ["-b"]);
if (ok && selected.length === 0) {
  ok = step("lint and format (biome ci)", bin("biome"), ["ci", "."]) && ok;
  ok = step("proto lint (buf lint)", bin("buf"), ["lint"]) && ok;
  ok = step("proto compatibility (buf breaking)", node, ["scripts/buf-breaking.mjs"]) && ok;
  ok = step("generated code matches protos", node, ["scripts/check-generated.mjs"]) && ok;
  ok = step("API reference matches protos", node, ["scripts/api-doc.mjs", "--check"]) && ok;
}
if (ok) {
  const files =
    selected.length > 0
      ? selected
      : [
          "libs/*/dist/**/*.test.js",
          "services/*/dist/**/*.test.js",
          "cli/*/dist/**/*.test.js",
          "test/dist/**/*.test.js",
        ];
  const testOk = step("tests (node --test)", node, [
    "--test",
    // kafkajs clients made directly by test files get the same fix as the services' clients.
    "--require=@geo/kafka/register-request-queue-fix",
    "--test-concurrency=2",
    "--test-timeout=600000",
    ...files,
  ]);
  const orphansOk = step("no harness process left behind", node, ["scripts/check-orphans.mjs"]);
  ok = testOk && orphansOk;
}
process.exit(ok ? 0 : 1);
