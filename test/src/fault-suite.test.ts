// The fault suite's short form (`npm run chaos -- --quick`): one stack under a sequenced load, and
// Redis frozen for 2x the lease TTL, kill -9 of an agent (restarted), kill -9 of the leading
// coordinator (restarted), one after another. After each, every partition advances again within
// TTL + 5 s and the independent checker finds no record lost. The full run adds the other faults.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { trackProcess } from "@geo/local-runtime";

const root = join(__dirname, "..", "..");

interface ChaosRow {
  fault: string;
  advanceAfterEndMs?: number | null;
  longestPartitionPauseMs?: number;
  lost: number;
  duplicates: number;
  reordered: number;
  ok: boolean;
  note: string;
}

test("fault suite (quick): Redis freeze, agent kill -9, coordinator leader kill -9 — every partition advances within TTL + 5 s, nothing lost", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "geo-fault-suite-"));
  const file = join(dir, "chaos.json");
  const child = spawn(
    process.execPath,
    [join(root, "bench", "dist", "chaos.js"), "--quick", "--json", file],
    { stdio: ["ignore", "pipe", "pipe"], env: process.env },
  );
  if (child.pid !== undefined) trackProcess(child.pid);
  const output: string[] = [];
  child.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  try {
    const text = output.join("");
    for (const line of text.slice(text.indexOf("### chaos")).trim().split("\n")) {
      t.diagnostic(line);
    }
    assert.ok(code === 0 || code === 1, `the suite ran (exit ${code}):\n${text.slice(-3000)}`);
    const { boundMs, rows } = JSON.parse(readFileSync(file, "utf8")) as {
      boundMs: number;
      rows: ChaosRow[];
    };
    assert.deepEqual(
      rows.map((row) => row.fault),
      ["redis-freeze", "agent-kill", "coordinator-leader-kill", "total"],
    );
    for (const row of rows) {
      assert.equal(row.lost, 0, `${row.fault}: records lost`);
      assert.equal(row.reordered, 0, `${row.fault}: records out of order`);
      if (row.fault === "total") continue;
      assert.ok(
        typeof row.advanceAfterEndMs === "number" && row.advanceAfterEndMs <= boundMs,
        `${row.fault}: every partition advanced again ${row.advanceAfterEndMs} ms after it ended (bound ${boundMs} ms)`,
      );
    }
    // A planned-free restart of the hub copies nothing twice; a killed agent's successor copies
    // again at most what it wrote after its last progress (a quarter second of load).
    const byFault = new Map(rows.map((row) => [row.fault, row]));
    assert.equal(byFault.get("coordinator-leader-kill")?.duplicates, 0);
    assert.equal(code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
