// geoctl end to end against a running stack (real Kafka, Redis, the four services in the
// all-in-one process): apply a flow from a file and see it replicate, read every view as JSON,
// and check that mistakes give one line and a distinct exit code.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { findFreePorts, type RedisServer, startRedis } from "@geo/local-runtime";
import { createTopic, endOffset, type Pair, startPair } from "./support/replication-fixtures";
import { type ServiceProcess, startService } from "./support/service-process";
import { waitFor } from "./support/wait-for";

const root = join(__dirname, "..", "..");
const bin = join(root, "cli", "geoctl", "bin", "geoctl.cjs");
const mm2Fixture = join(root, "cli", "geoctl", "fixtures", "mm2", "plain.properties");
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe("geoctl against a running stack", () => {
  let pair: Pair;
  let redis: RedisServer;
  let stack: ServiceProcess;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let configPath: string;

  const geoctl = async (...args: string[]): Promise<Result> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
        env,
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
    }
  };
  const json = async (...args: string[]): Promise<unknown> => {
    const result = await geoctl("-o", "json", ...args);
    assert.equal(result.code, 0, `geoctl ${args.join(" ")}: ${result.stderr}`);
    return JSON.parse(result.stdout);
  };
  /** One line on stderr, starting "geoctl: ", and the expected exit code. */
  const failsWith = (result: Result, code: number, pattern: RegExp) => {
    assert.equal(result.code, code, `exit ${result.code}: ${result.stderr}`);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.match(result.stderr, /^geoctl: /);
    assert.match(result.stderr, pattern);
  };

  before(async () => {
    [pair, redis] = await Promise.all([startPair("geoctl"), startRedis()]);
    // geoctl is pointed at the three hub services; metrics and agents take any free port.
    const ports = (await findFreePorts(3)) as [number, number, number];
    const hub = { coordinator: ports[0], offsets: ports[1], health: ports[2] };
    dir = mkdtempSync(join(tmpdir(), "geoctl-e2e-"));
    configPath = join(dir, "geo.yaml");
    const config = {
      clusters: {
        "us-east": { bootstrapServers: pair.source.cluster.bootstrapServers },
        "eu-west": { bootstrapServers: pair.target.cluster.bootstrapServers },
      },
      // One file flow gives eu-west its agent (the all-in-one runs one per target region); the
      // flow under test comes from geoctl.
      flows: [
        {
          name: "file-flow",
          source: "us-east",
          target: "eu-west",
          topics: { include: ["file-only"] },
        },
      ],
      redis: { url: redis.url, keyPrefix: "geoctl-e2e:" },
      services: {
        ...Object.fromEntries(
          Object.entries(hub).map(([name, port]) => [
            name,
            { listen: `127.0.0.1:${port}`, metricsListen: "127.0.0.1:0" },
          ]),
        ),
        agent: { listen: "127.0.0.1:0", metricsListen: "127.0.0.1:0" },
      },
      leases: { ttlMs: 3000 },
      discovery: { intervalMs: 500 },
    };
    // JSON is YAML.
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    env = {
      ...process.env,
      GEOCTL_CONFIG: join(dir, "contexts.yaml"),
      GEOCTL_COORDINATOR: `127.0.0.1:${hub.coordinator}`,
      GEOCTL_OFFSETS: `127.0.0.1:${hub.offsets}`,
      GEOCTL_HEALTH: `127.0.0.1:${hub.health}`,
      GEOCTL_ACTOR: "e2e-test",
    };
    stack = await startService("all-in-one", ["--config", configPath], {}, 90_000);
    await createTopic(pair.source, "orders", 2);
    const producer = pair.source.kafka.producer();
    await producer.connect();
    await producer.send({
      topic: "orders",
      messages: Array.from({ length: 10 }, (_, i) => ({
        key: `k${i}`,
        value: `v${i}`,
        partition: i % 2,
      })),
    });
    await producer.disconnect();
  });

  after(async () => {
    await stack?.stop();
    await pair?.stop();
    await redis?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("applies a flow from a file, which replicates; status, diff and history show it", async () => {
    const flowFile = join(dir, "orders.yaml");
    writeFileSync(
      flowFile,
      "flows:\n  - name: orders\n    source: us-east\n    target: eu-west\n    topics:\n      include: [orders]\n",
    );
    // The coordinator answers flow changes once it leads (a moment after start).
    let applied: Result | undefined;
    await waitFor(
      "geoctl flows apply to succeed",
      async () => {
        applied = await geoctl("flows", "apply", "-f", flowFile);
        return applied.code === 0;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last: ${applied?.code} ${applied?.stderr}`);
    });
    assert.match(applied!.stdout, /orders\s+create/);
    await waitFor(
      "both partitions of us-east.orders in eu-west",
      async () => {
        const ends = await Promise.all(
          [0, 1].map((p) => endOffset(pair.target, "us-east.orders", p)),
        );
        return ends[0]! + ends[1]! === 10n;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    let status:
      | { flows: { name: string; lagRecords: string; running: string }[]; units: unknown[] }
      | undefined;
    await waitFor(
      "status to show the flow caught up",
      async () => {
        status = (await json("status", "--flow", "orders")) as typeof status;
        const flow = status?.flows.find((f) => f.name === "orders");
        // Two partitions of orders, and the MM2 heartbeats topic the health service writes into
        // the source, which every flow carries.
        return flow?.lagRecords === "0" && flow.running === "3/3";
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    assert.equal(status?.units.length, 3);
    const table = await geoctl("status");
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^orders\s+orders\s+0\s+\S+\s+running\s+\d+\s+0\s/m);
    const diff = await geoctl("flows", "diff", "-f", flowFile);
    assert.equal(diff.code, 0, diff.stdout);
    assert.match(diff.stdout, /orders\s+unchanged/);
    writeFileSync(
      flowFile,
      "source: us-east\ntarget: eu-west\nname: orders\ntopics: {include: [orders, stock]}\n",
    );
    assert.equal((await geoctl("flows", "diff", "-f", flowFile)).code, 10);
    const history = (await json("flows", "history", "orders")) as { kind: string; actor: string }[];
    assert.deepEqual(
      history.map((h) => [h.kind, h.actor]),
      [["FLOW_CHANGE_KIND_CREATED", "e2e-test"]],
    );
  });

  it("prints parseable JSON for every command that reads", async () => {
    const reads: string[][] = [
      ["clusters", "list"],
      ["clusters", "describe", "us-east"],
      ["flows", "list"],
      ["flows", "describe", "orders"],
      ["flows", "history"],
      ["agents"],
      ["units", "--flow", "orders"],
      ["status"],
      ["context", "show"],
      ["config", "validate", configPath],
      ["import", "mm2", mm2Fixture],
    ];
    for (const args of reads) await json(...args);
    const flows = (await json("flows", "list")) as { name: string; owner: object }[];
    assert.deepEqual(
      flows.map((f) => f.name),
      ["file-flow", "orders"],
    );
    const agents = (await json("agents")) as { region: string }[];
    assert.deepEqual(
      agents.map((a) => a.region),
      ["eu-west"],
    );
    // Served by helpers still at work: JSON when they answer, else exit 7 and one line.
    for (const args of [
      ["regions", "list"],
      ["offsets", "translate", "--flow", "orders", "--offset", "orders:0:3"],
    ]) {
      const result = await geoctl("-o", "json", ...args);
      if (result.code === 0) JSON.parse(result.stdout);
      else failsWith(result, 7, /does not offer this yet: .*not implemented/);
    }
  });

  it("status --watch refreshes until Ctrl-C, then exits 0", async () => {
    const child = spawn(
      process.execPath,
      [bin, "-o", "json", "status", "--watch", "--interval", "0.5"],
      { env },
    );
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    await waitFor(
      "three refreshes",
      () => stdout.split("\n\n").filter((doc) => doc.trim() !== "").length >= 3,
      {
        timeoutMs: 60_000,
      },
    );
    child.kill("SIGINT");
    assert.equal(await exited, 0);
    const documents = stdout.split("\n\n").filter((doc) => doc.trim() !== "");
    for (const doc of documents)
      assert.ok(Array.isArray((JSON.parse(doc) as { flows: unknown[] }).flows));
  });

  it("pauses, resumes and deletes through the API, and refuses the file's flow with exit 5", async () => {
    assert.equal(
      ((await json("flows", "pause", "orders", "--reason", "e2e")) as { paused: boolean }).paused,
      true,
    );
    assert.equal(((await json("flows", "resume", "orders")) as { paused: boolean }).paused, false);
    failsWith(await geoctl("flows", "pause", "file-flow"), 5, /defined in the config file/);
    assert.equal(((await json("flows", "delete", "orders")) as { name: string }).name, "orders");
  });

  it("answers a wrong flag, an unknown flow and an unreachable server with one line and distinct codes", async () => {
    failsWith(await geoctl("flows", "list", "--outptu", "json"), 2, /unknown option '--outptu'/);
    failsWith(await geoctl("flows", "describe", "no-such-flow"), 3, /no flow "no-such-flow"/);
    failsWith(
      await geoctl("status", "--flow", "no-such-flow"),
      3,
      /no flow "no-such-flow"; flows: /,
    );
    const [closed] = (await findFreePorts(1)) as [number];
    failsWith(
      await geoctl("--coordinator", `127.0.0.1:${closed}`, "flows", "list"),
      4,
      new RegExp(`cannot reach the coordinator at 127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\)`),
    );
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "flows:\n  - source: us-east\n    target: mars\n");
    const invalid = await geoctl("flows", "apply", "-f", bad);
    assert.equal(invalid.code, 6, invalid.stderr);
    assert.match(invalid.stderr, /flows\[0\]\.target: unknown cluster "mars"/);
  });
});
