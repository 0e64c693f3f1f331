// geoctl moving a flow group's active region against the real thing (the switchover rig: two
// Kafka clusters, Redis, the coordinator, offsets and health services and an agent in eu-west, all
// processes): the groups' states, a dry run, a switchover with --output json, and refusals with
// one line and the documented exit codes.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { createLogger } from "@geo/logging";
import { type SwitchoverRig, startSwitchoverRig, TOPIC } from "./support/switchover-rig";

const root = join(__dirname, "..", "..");
const bin = join(root, "cli", "geoctl", "bin", "geoctl.cjs");
const run = promisify(execFile);
const logger = createLogger({ service: "geoctl-switchover-test", level: "warn" });
const WRITTEN = 300;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface TransitionJson {
  state: { activeRegion: string; epoch: string } | null;
  steps: { name: string; ok: boolean; detail: string }[];
}

describe("geoctl moves a flow group's active region", () => {
  let rig: SwitchoverRig;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  const geoctl = async (...args: string[]): Promise<Result> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
        env,
        timeout: 180_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
    }
  };
  const json = async <T>(...args: string[]): Promise<T> => {
    const result = await geoctl("-o", "json", ...args);
    assert.equal(result.code, 0, `geoctl ${args.join(" ")}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  /** The expected exit code and one error line (after the progress line a move prints first). */
  const failsWith = (result: Result, code: number, pattern: RegExp) => {
    assert.equal(result.code, code, `exit ${result.code}: ${result.stderr}`);
    const errors = result.stderr.split("\n").filter((line) => line.startsWith("geoctl: "));
    assert.equal(errors.length, 1, result.stderr);
    assert.match(errors[0]!, pattern);
  };

  before(async () => {
    rig = await startSwitchoverRig("geoctl-switch", logger);
    await rig.produce(0, WRITTEN);
    await rig.startAgent("agent-eu-1");
    // The group has positions to translate: it read a third at us-east and left.
    await rig.consume(0, TOPIC, (seen) => seen.length >= WRITTEN / 3, 60_000);
    await rig.waitForReplicated(WRITTEN);
    dir = mkdtempSync(join(tmpdir(), "geoctl-switch-"));
    env = {
      ...process.env,
      GEOCTL_CONFIG: join(dir, "contexts.yaml"),
      GEOCTL_HEALTH: rig.healthAddress,
      GEOCTL_ACTOR: "e2e-test",
    };
  });

  after(async () => {
    await rig?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("shows the group, rehearses and switches it over; every answer is JSON", async () => {
    const listed = JSON.stringify(await json("regions", "list"));
    assert.match(listed, /"flowGroup":"orders"/);
    assert.match(listed, /"activeRegion":"us-east"/);

    const dry = await json<TransitionJson>("switchover", "orders", "--to", "eu-west", "--dry-run");
    const failed = dry.steps.filter((s) => !s.ok);
    assert.deepEqual(failed, [], "the dry run's checks pass on a healthy pair");
    assert.equal(dry.state?.activeRegion, "us-east", "a dry run moves nothing");

    const moved = await json<TransitionJson>(
      "switchover",
      "orders",
      "--to",
      "eu-west",
      "--reason",
      "geoctl e2e",
    );
    assert.equal(moved.state?.activeRegion, "eu-west", JSON.stringify(moved.steps));
    assert.equal(moved.state?.epoch, "2");
    const names = moved.steps.map((s) => s.name);
    for (const step of ["drain", "pause-flow", "commit-offsets"]) {
      assert.ok(names.includes(step), `the switchover ran ${step}: ${names.join(", ")}`);
    }
    const described = JSON.stringify(await json("regions", "describe", "orders"));
    assert.match(described, /"activeRegion":"eu-west"/);
  });

  it("refuses bad moves with one line and the documented exit codes, changing nothing", async () => {
    failsWith(await geoctl("switchover", "orders", "--to", "eu-west"), 5, /already active/);
    failsWith(await geoctl("switchover", "no-such-group", "--to", "eu-west"), 3, /no flow group/);
    failsWith(await geoctl("switchover", "orders", "--to", "mars"), 6, /not part of flow group/);
    failsWith(
      await geoctl("switchover", "orders", "--to", "us-east", "--expected-epoch", "1"),
      5,
      /stale/,
    );
    const after = JSON.stringify(await json("regions", "describe", "orders"));
    assert.match(after, /"activeRegion":"eu-west"/);
    assert.match(after, /"epoch":"2"/);
  });
});
