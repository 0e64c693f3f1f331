// The shipped alert rules: promtool (Debian's prometheus package, installed by the harness when
// missing) checks them and runs their unit tests, which prove that each alert fires on what
// should fire it and stays silent otherwise (deploy/prometheus/alerts.test.yml).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ensurePromtool } from "@geo/local-runtime";

const dir = join(__dirname, "..", "..", "deploy", "prometheus");

test("promtool check rules accepts the alert rules", () => {
  const result = spawnSync(ensurePromtool(), ["check", "rules", "alerts.yml"], {
    cwd: dir,
    encoding: "utf8",
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /SUCCESS: \d+ rules found/);
});

test("promtool test rules: every alert fires on its cause and stays silent otherwise", () => {
  const result = spawnSync(ensurePromtool(), ["test", "rules", "alerts.test.yml"], {
    cwd: dir,
    encoding: "utf8",
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const rules = readFileSync(join(dir, "alerts.yml"), "utf8");
  const tests = readFileSync(join(dir, "alerts.test.yml"), "utf8");
  for (const [, name] of rules.matchAll(/alert: (\w+)/g)) {
    assert.match(tests, new RegExp(`alertname: ${name}\\n`), `alerts.test.yml tests ${name}`);
  }
  for (const block of rules.split("- alert:").slice(1)) {
    assert.match(block, /runbook: "/, `every alert has a runbook line: ${block.slice(0, 40)}`);
  }
});
