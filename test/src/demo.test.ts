// `npm start`'s main job: a local three-region stack that comes up, answers, runs the guided
// drill of its active-passive pair (`--drill`), and stops on Ctrl-C without leaving a process behind; and, with `--config`, the services alone on clusters the user
// brings, which Ctrl-C stops within a bound even when they hang.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, it } from "node:test";
import { Code, clientTlsCredentials, createGrpcClient, type GeoError } from "@geo/grpc";
import {
  createTestPki,
  findFreePorts,
  isProcessAlive,
  startKafkaCluster,
  startRedis,
  stopAll,
  trackProcess,
} from "@geo/local-runtime";
import { CoordinatorService, ReplicationHealthService, replicationV1 } from "@geo/proto";
import { waitFor } from "./support/wait-for";

const root = join(__dirname, "..", "..");
const demo = join(root, "services", "all-in-one", "dist", "demo.js");

interface Demo {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  /** Ctrl-C in a terminal: SIGINT to every process of the foreground group. */
  interrupt(): void;
}

/** Spawns in a process group of its own, as a shell runs a foreground job. */
function spawnDemo(command: string, args: string[]): Demo {
  const child = spawn(command, args, {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  if (child.pid !== undefined) trackProcess(child.pid);
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => lines.push(line));
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { child, lines, exited, interrupt: () => process.kill(-child.pid!, "SIGINT") };
}

async function waitReady(demoRun: Demo): Promise<string> {
  await waitFor("the demo to print ready", () => demoRun.lines.includes("ready"), {
    timeoutMs: 180_000,
  }).catch((error: Error) => {
    throw new Error(`${error.message}; the demo printed:\n${demoRun.lines.join("\n")}`);
  });
  return demoRun.lines.join("\n");
}

function printed(text: string, name: string): string {
  const match = new RegExp(`^\\s+${name.replace(".", "\\.")}\\s+(.+)$`, "m").exec(text);
  assert.ok(match, `the demo prints ${name}`);
  return match[1]!;
}

/**
 * The local stack runs mTLS with roles: no certificate and a certificate of another CA are
 * refused at the handshake, and a viewer may read but not fail over.
 */
async function assertRefused(text: string): Promise<void> {
  const health = printed(text, "health.grpc");
  const anonymous = createGrpcClient(ReplicationHealthService, {
    address: health,
    defaultTimeoutMs: 5000,
  });
  await assert.rejects(
    anonymous.listClusterHealth({}),
    (e: GeoError) => e.code === Code.UNAVAILABLE,
  );
  anonymous.close();
  const rogueDir = mkdtempSync(join(tmpdir(), "geo-demo-rogue-"));
  const rogue = createTestPki(rogueDir, "rogue").issue("demo-admin");
  const untrusted = createGrpcClient(ReplicationHealthService, {
    address: health,
    defaultTimeoutMs: 5000,
    credentials: clientTlsCredentials({ ...rogue, caFile: printed(text, "CA certificate") }),
  });
  const failover = { flowGroup: "x", targetRegion: "us-east" };
  await assert.rejects(untrusted.failover(failover), (e: GeoError) => e.code === Code.UNAVAILABLE);
  untrusted.close();
  rmSync(rogueDir, { recursive: true, force: true });
  const viewer = createGrpcClient(ReplicationHealthService, {
    address: health,
    defaultTimeoutMs: 5000,
    credentials: clientTlsCredentials({
      caFile: printed(text, "CA certificate"),
      certFile: printed(text, "viewer certificate"),
      keyFile: printed(text, "viewer key"),
    }),
  });
  await assert.rejects(
    viewer.failover(failover),
    (e: GeoError) => e.code === Code.PERMISSION_DENIED && /needs the admin role/.test(e.message),
  );
  await viewer.listClusterHealth({});
  viewer.close();
}

it("npm start -- --drill runs three regions, takes API flows, switches the pair over and back exactly, and Ctrl-C exits 0", async () => {
  const npm = process.env.npm_execpath;
  const args = ["start", "--", "--drill"];
  const run =
    npm === undefined ? spawnDemo("npm", args) : spawnDemo(process.execPath, [npm, ...args]);
  try {
    const text = await waitReady(run);
    assert.match(text, /Kafka 3\.9\.\d+ \(as the brokers report it\)/);
    assert.match(text, /Prometheus metrics: .*curl http:\/\/127\.0\.0\.1:\d+\/metrics/);
    assert.match(text, /sample traffic: 20 records a second into "orders"/);
    // mTLS with the admin certificate the demo made; without one the services refuse the call.
    const credentials = clientTlsCredentials({
      caFile: printed(text, "CA certificate"),
      certFile: printed(text, "admin certificate"),
      keyFile: printed(text, "admin key"),
    });
    await assertRefused(text);
    const coordinator = createGrpcClient(CoordinatorService, {
      address: printed(text, "coordinator.grpc"),
      credentials,
    });
    const health = createGrpcClient(ReplicationHealthService, {
      address: printed(text, "health.grpc"),
      credentials,
    });
    try {
      // A coordinator answers flow reads once it has read the flow store (UNAVAILABLE before).
      let names: string[] = [];
      await waitFor("the coordinator lists its flows", async () => {
        names = (await coordinator.listFlows({})).flows.map((flow) => flow.name);
        return true;
      });
      // The file's active-active flows and the active-passive pair's API flows.
      assert.deepEqual(names.sort(), [
        "ap-south->us-east",
        "eu-west->us-east",
        "us-east->ap-south",
        "us-east->eu-west",
      ]);
      // The demo's file flows leave other topics free for flows made through the API.
      // (Changes go through the leader coordinator, elected a moment after start.)
      await waitFor("an API prefix flow for another topic to validate", async () => {
        const { flow } = await coordinator.createFlow({
          flow: {
            name: "inventory",
            sourceCluster: "us-east",
            targetCluster: "eu-west",
            topics: { include: ["inventory"] },
            namingPolicy: replicationV1.NamingPolicy.PREFIX,
          },
          validateOnly: true,
        });
        return flow?.name === "inventory";
      });
      await waitFor("every region's agent connected", async () => {
        const { agents } = await coordinator.listAgents({});
        return (
          agents
            .map((agent) => agent.region)
            .sort()
            .join() === "ap-south,eu-west,us-east"
        );
      });
      // Both flows really copy the sample records: the demo's status lines say so. Four units per
      // flow: the sample topic's 3 partitions and the MM2 heartbeats topic the health service
      // writes into every source (each flow carries it).
      await waitFor(
        "both flows reporting copied records",
        () =>
          ["us-east->eu-west", "eu-west->us-east"].every((name) =>
            run.lines.some((line) =>
              new RegExp(`flow\\s+${name}: 4/4 partitions running, [1-9]\\d* records copied`).test(
                line,
              ),
            ),
          ),
        { timeoutMs: 90_000 },
      );
      const { clusters } = await health.listClusterHealth({});
      assert.deepEqual(
        clusters.map((cluster) => [cluster.cluster, cluster.reachable, cluster.brokerCount]),
        [
          ["ap-south", true, 1],
          ["eu-west", true, 1],
          ["us-east", true, 1],
        ],
      );
      // The drill: a dry run, ap-south and back, while the pair's producer and consumer work.
      await waitFor(
        "the drill to end",
        () => run.lines.some((line) => /^drill (passed|FAILED|stopped)/.test(line)),
        { timeoutMs: 300_000 },
      );
      const all = run.lines.join("\n");
      assert.match(all, /^drill passed/m, all);
      assert.match(
        all,
        /drill 2\/4: switchover of flow group "inventory" from us-east to ap-south/,
      );
      assert.match(
        all,
        /drill 3\/4: switchover of flow group "inventory" from ap-south to us-east/,
      );
      assert.match(all, /RTO \d+\.\d+ s \(no active region\), RPO 0 records/);
      assert.match(all, /of the first \d+ records written: 0 missing; 0 read twice in all/);
      const regionLines = run.lines.filter((line) => /region\s+inventory: /.test(line));
      assert.ok(regionLines.length > 0, "the status view shows the pair's active region");
    } finally {
      coordinator.close();
      health.close();
    }
    run.interrupt();
    assert.equal(await run.exited, 0, run.lines.join("\n"));
    const all = run.lines.join("\n");
    assert.match(all, /stopped\.$/m);
    // kafkajs 2.2.4's negative throttle timer is fixed in every client the demo makes.
    assert.doesNotMatch(all, /Warning/);
    // The brokers and Redis the demo started carry this run's id: the suite's orphan check
    // (scripts/check-orphans.mjs) fails the run if any of them outlived the demo.
  } finally {
    if (run.child.exitCode === null) process.kill(-run.child.pid!, "SIGKILL");
  }
});

it("npm start -- --config runs the user's clusters, and Ctrl-C kills hung services within the bound", async () => {
  const dir = mkdtempSync(join(tmpdir(), "geo-demo-config-"));
  after(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });
  const [cluster, redis] = await Promise.all([startKafkaCluster({ name: "mine" }), startRedis()]);
  const [coordinatorPort, offsetsPort, healthPort] = await findFreePorts(3);
  const configPath = join(dir, "my.yaml");
  writeFileSync(
    configPath,
    [
      "clusters:",
      `  mine: { bootstrapServers: ["${cluster.bootstrapServers.join('","')}"] }`,
      `redis: { url: "${redis.url}", keyPrefix: "demo-config:" }`,
      "services:",
      `  coordinator: { listen: 127.0.0.1:${coordinatorPort} }`,
      `  offsets: { listen: 127.0.0.1:${offsetsPort} }`,
      `  health: { listen: 127.0.0.1:${healthPort} }`,
      "",
    ].join("\n"),
  );
  const run = spawnDemo(process.execPath, [demo, "--config", configPath]);
  try {
    const text = await waitReady(run);
    assert.match(
      text,
      new RegExp(`with ${configPath} \\(your clusters and Redis; no sample traffic\\)`),
    );
    assert.doesNotMatch(text, /Kafka us-east|sample traffic: /);
    assert.equal(printed(text, "coordinator.grpc"), `127.0.0.1:${coordinatorPort}`);
    await waitFor("the status view to show the user's cluster", () =>
      run.lines.some((line) => /cluster mine\s+1 broker\(s\)/.test(line)),
    );
    // A hung service: stopped, it handles no signal but SIGKILL.
    const servicesPid = Number(/^pid (\d+)$/.exec(printed(text, "services process"))?.[1]);
    process.kill(servicesPid, "SIGSTOP");
    const interruptedAt = performance.now();
    run.interrupt();
    const code = await run.exited;
    const seconds = (performance.now() - interruptedAt) / 1000;
    // The bound is 5 s of SIGTERM; the rest is margin for a loaded machine.
    assert.ok(seconds < 20, `stopped after ${seconds.toFixed(1)} s`);
    assert.equal(code, 1, run.lines.join("\n"));
    assert.match(run.lines.join("\n"), /did not stop within 5 s of SIGTERM and were killed/);
    await waitFor("the hung services to be gone", () => !isProcessAlive(servicesPid));
  } finally {
    if (run.child.exitCode === null) process.kill(-run.child.pid!, "SIGKILL");
  }
});
