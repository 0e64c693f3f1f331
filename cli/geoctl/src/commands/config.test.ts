import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ExitCode } from "../exit-codes";

const bin = join(__dirname, "..", "..", "bin", "geoctl.cjs");

describe("geoctl config validate", () => {
  const dir = mkdtempSync(join(tmpdir(), "geoctl-validate-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("lists every problem with its path and line, exit 6; a good file passes", () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(
      bad,
      [
        "clusters:",
        "  us-east: { bootstrapServers: [a:9092] }",
        "flows:",
        "  - source: us-east",
        "    target: mars",
        "    topics: { include: ['x('] }",
        "leases: { ttlMs: -1 }",
        "logging: { levle: debug }",
        "telemetry: { enabled: maybe }",
        "",
      ].join("\n"),
    );
    const run = spawnSync(process.execPath, [bin, "-o", "json", "config", "validate", bad], {
      encoding: "utf8",
    });
    assert.equal(run.status, ExitCode.INVALID, run.stderr);
    const report = JSON.parse(run.stdout) as {
      valid: boolean;
      problems: { path: string; line?: number }[];
    };
    assert.equal(report.valid, false);
    assert.deepEqual(
      report.problems.map((p) => [p.path, p.line]),
      [
        ["flows[0].target", 5],
        ["flows[0].topics.include[0]", 6],
        ["leases.ttlMs", 7],
        ["logging.levle", 8],
        ["telemetry.enabled", 9],
      ],
    );
    const messages = (report as unknown as { problems: { message: string }[] }).problems.map(
      (p) => p.message,
    );
    assert.match(messages[3] ?? "", /unknown key "levle" \(did you mean "level"\?\)/);
    assert.match(messages[4] ?? "", /must be true or false, found "maybe"/);
    const good = join(dir, "good.yaml");
    writeFileSync(good, "clusters:\n  a: { bootstrapServers: [a:9092] }\n");
    const ok = spawnSync(process.execPath, [bin, "config", "validate", good], { encoding: "utf8" });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /good\.yaml is valid: 1 cluster\(s\), 0 flow\(s\)/);
  });
});
