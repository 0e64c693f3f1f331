// What the coordinator benchmarks (takeover, discovery) share: the system as operators run it.
// Two single-broker clusters (source region us-east, target region eu-west), a Redis, coordinator
// and agent processes started from services/*/dist with one YAML file, as `node main.js --config`
// runs them in production; a light steady load; polling helpers.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type ClusterConfig, type GeoConfig, type LeasesConfig, parseConfig } from "@geo/config";
import { createGrpcClient, type GrpcClient } from "@geo/grpc";
import { type Admin, createKafkaClient } from "@geo/kafka";
import {
  createIdempotentProducer,
  createWireClient,
  type IdempotentProducer,
  type KafkaWireClient,
} from "@geo/kafka-wire";
import {
  findFreePorts,
  type KafkaCluster,
  type RedisServer,
  startKafkaClusters,
  startRedis,
  stopAll,
  trackProcess,
} from "@geo/local-runtime";
import { createLogger } from "@geo/logging";
import { AgentService, CoordinatorService, replicationV1 } from "@geo/proto";

export const SOURCE = "us-east";
export const TARGET = "eu-west";
export const FLOW = "bench-flow";
/** Columns of the timing tables (`takeover`, `discovery`). */
export const TIMING_COLUMNS = [
  "measure",
  "n",
  "minMs",
  "medianMs",
  "maxMs",
  "samplesMs",
  "boundMs",
  "allWithinBound",
];
const RUNNING = replicationV1.UnitState.RUNNING;
const root = join(__dirname, "..", "..");

/** Monotonic milliseconds. */
export const now = () => performance.now();
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Every line it wrote, stdout and stderr. */
  readonly output: string[];
  /** From its "started" log line. */
  readonly endpoints: Record<string, string>;
  readonly exited: Promise<unknown>;
  readonly alive: () => boolean;
}

/** `node services/<kind>/dist/main.js <args>`; resolves on its "started" log line. */
export async function startService(
  kind: "coordinator" | "agent" | "offsets" | "health",
  name: string,
  args: readonly string[],
): Promise<ServiceProcess> {
  const child = spawn(
    process.execPath,
    [
      // Extra node flags for the services, e.g. GEO_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
      ...(process.env.GEO_BENCH_NODE_FLAGS ?? "").split(" ").filter((flag) => flag !== ""),
      join(root, "services", kind, "dist", "main.js"),
      ...args,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  if (child.pid !== undefined) trackProcess(child.pid);
  const output: string[] = [];
  let endpoints: Record<string, string> | undefined;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on("line", (line) => {
      output.push(line);
      if (endpoints === undefined && line.includes('"msg":"started"')) {
        endpoints = (JSON.parse(line) as { endpoints: Record<string, string> }).endpoints;
      }
    });
  }
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const deadline = now() + 30_000;
  while (endpoints === undefined) {
    if (!alive() || now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${name} did not start:\n${output.slice(-20).join("\n")}`);
    }
    await sleep(50);
  }
  return { name, child, output, endpoints, exited, alive };
}

/** Wall-clock ms of the first log line of `service` from line `from` on whose msg is `msg`. */
export function logTime(service: ServiceProcess, msg: string, from = 0): number | undefined {
  for (const line of service.output.slice(from)) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    return Date.parse((JSON.parse(line) as { time: string }).time);
  }
  return undefined;
}

export interface UnitRow {
  /** `topic/partition` */
  id: string;
  desired: string;
  actual: string;
  running: boolean;
  epoch: bigint;
  /** State and reason, e.g. "ERROR: the target refused a batch: ...". */
  status: string;
}

export interface StackOptions {
  /** Created in the source before the services start. */
  topics: readonly string[];
  partitions: number;
  /** The flow's topic filter (regular expressions). */
  include: readonly string[];
  coordinators: 1 | 2;
  agents: readonly string[];
  /** Lease settings written to the file; absent ones take the production defaults. */
  leases?: Partial<LeasesConfig>;
  /** discovery.intervalMs; absent: the default. */
  discoveryIntervalMs?: number;
}

export interface Stack {
  /** The coordinators' file as the services read it (lease and discovery settings in effect). */
  readonly config: GeoConfig;
  readonly source: KafkaCluster;
  readonly target: KafkaCluster;
  readonly sourceAdmin: Admin;
  readonly targetWire: KafkaWireClient;
  readonly redis: RedisServer;
  /** By index; a restarted one replaces the killed one. */
  readonly coordinators: ServiceProcess[];
  /** Live agents by id. */
  readonly agents: Map<string, ServiceProcess>;
  startAgent(id: string): Promise<ServiceProcess>;
  restartCoordinator(index: number): Promise<ServiceProcess>;
  /** The live coordinator that logged that it leads last (and not that it stopped). */
  leader(): ServiceProcess | undefined;
  /** kill -9; resolves when it exited. */
  kill(service: ServiceProcess): Promise<void>;
  /** ListUnits of the flow through `via` (default: the leader). */
  units(via?: ServiceProcess): Promise<UnitRow[]>;
  /** ListRunningUnits of an agent: unit id → epoch, running ones only. */
  agentRunning(agent: ServiceProcess): Promise<Map<string, bigint>>;
  /** Stops everything; keeps the services' logs (and says where) when asked or GEO_HARNESS_KEEP=1. */
  stop(keepLogs?: boolean): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const [[source, target], redis] = await Promise.all([
    startKafkaClusters([`bench-${SOURCE}`, `bench-${TARGET}`]),
    startRedis(),
  ]);
  const logger = createLogger({ service: "bench", level: "warn" });
  const cluster = (alias: string, c: KafkaCluster): ClusterConfig => ({
    alias,
    region: alias,
    bootstrapServers: c.bootstrapServers,
  });
  const kafka = createKafkaClient(cluster(SOURCE, source!), { clientId: "bench", logger });
  const sourceAdmin = kafka.admin();
  const targetWire = createWireClient({
    clientId: "bench",
    brokers: target!.bootstrapServers,
    logLevel: 0,
  });
  const dir = mkdtempSync(join(tmpdir(), "geo-bench-stack-"));
  const coordinators: ServiceProcess[] = [];
  const agents = new Map<string, ServiceProcess>();
  const killed = new Set<ServiceProcess>();
  /** Every process started, for the logs. */
  const started: ServiceProcess[] = [];
  const grpc = new Map<string, GrpcClient<typeof CoordinatorService>>();
  const agentGrpc = new Map<ServiceProcess, GrpcClient<typeof AgentService>>();
  let balancer: { address: string; close(): Promise<void> } | undefined;
  const ports = await findFreePorts(options.coordinators);
  const addresses = ports.map((port) => `127.0.0.1:${port}`);
  const leases = Object.entries(options.leases ?? {})
    .map(([key, value]) => `${key}: ${value}`)
    .join(", ");
  const config = (coordinator: string) =>
    [
      "clusters:",
      ...[cluster(SOURCE, source!), cluster(TARGET, target!)].map(
        (c) => `  ${c.alias}: { bootstrapServers: [${c.bootstrapServers.join(", ")}] }`,
      ),
      `flows: [{ name: ${FLOW}, source: ${SOURCE}, target: ${TARGET}, topics: { include: [${options.include.map((t) => JSON.stringify(t)).join(", ")}] } }]`,
      `redis: { url: "${redis.url}", keyPrefix: "bench:" }`,
      "services:",
      `  coordinator: { ${coordinator}, metricsListen: "127.0.0.1:0" }`,
      `  agent: { listen: "127.0.0.1:0", metricsListen: "127.0.0.1:0" }`,
      leases === "" ? "" : `leases: { ${leases} }`,
      options.discoveryIntervalMs === undefined
        ? ""
        : `discovery: { intervalMs: ${options.discoveryIntervalMs} }`,
      "logging: { level: info }",
      "",
    ].join("\n");
  const startCoordinator = async (index: number) => {
    const config = join(dir, `coordinator-${index}.yaml`);
    const coordinator = await startService("coordinator", `coordinator-${index}`, [
      "--config",
      config,
    ]);
    started.push(coordinator);
    return coordinator;
  };
  const stack: Stack = {
    config: parseConfig(config(`listen: "${addresses[0]}"`)),
    source: source!,
    target: target!,
    sourceAdmin,
    targetWire,
    redis,
    coordinators,
    agents,
    async startAgent(id) {
      const agent = await startService("agent", id, [
        ...["--config", join(dir, "agent.yaml"), "--region", TARGET, "--id", id],
      ]);
      agents.set(id, agent);
      started.push(agent);
      return agent;
    },
    async restartCoordinator(index) {
      coordinators[index] = await startCoordinator(index);
      return coordinators[index]!;
    },
    leader() {
      return coordinators.find((c) => {
        if (!c.alive()) return false;
        const lines = c.output.filter((l) => l.includes("leading: assignment rounds"));
        return lines.length > 0 && !lines[lines.length - 1]!.includes("no longer leading");
      });
    },
    async kill(service) {
      killed.add(service);
      service.child.kill("SIGKILL");
      await service.exited;
      for (const [id, agent] of agents) if (agent === service) agents.delete(id);
    },
    async units(via) {
      const through = via ?? stack.leader();
      if (through === undefined) throw new Error("no coordinator leads");
      const address = through.endpoints.grpc!;
      let client = grpc.get(address);
      if (client === undefined) {
        client = createGrpcClient(CoordinatorService, { address, defaultTimeoutMs: 5000 });
        grpc.set(address, client);
      }
      const { units } = await client.listUnits({ flow: FLOW, pageSize: 5000 });
      return units.map((u) => ({
        id: `${u.unit?.sourceTopic}/${u.unit?.partition}`,
        desired: u.desiredAgentId,
        actual: u.actualAgentId,
        running: u.state === RUNNING && u.actualAgentId === u.desiredAgentId,
        epoch: BigInt(u.epoch || "0"),
        status: `${replicationV1.UnitState[u.state]}${u.reason === "" ? "" : `: ${u.reason}`}`,
      }));
    },
    async agentRunning(agent) {
      let client = agentGrpc.get(agent);
      if (client === undefined) {
        const address = agent.endpoints.grpc!;
        client = createGrpcClient(AgentService, { address, defaultTimeoutMs: 5000 });
        agentGrpc.set(agent, client);
      }
      const { units } = await client.listRunningUnits({ flow: FLOW, pageSize: 5000 });
      return new Map(
        units
          .filter((u) => u.state === RUNNING)
          .map((u) => [`${u.unit?.sourceTopic}/${u.unit?.partition}`, BigInt(u.epoch || "0")]),
      );
    },
    async stop(keepLogs = false) {
      for (const client of [...grpc.values(), ...agentGrpc.values()]) client.close();
      const running = [...coordinators, ...agents.values()].filter((s) => !killed.has(s));
      for (const s of running) s.child.kill("SIGTERM");
      await Promise.all(running.map((s) => s.exited));
      await balancer?.close();
      await targetWire.close().catch(() => {});
      await sourceAdmin.disconnect().catch(() => {});
      await stopAll();
      if (keepLogs || process.env.GEO_HARNESS_KEEP === "1") {
        for (const s of started)
          writeFileSync(join(dir, `${s.name}-${s.child.pid}.log`), `${s.output.join("\n")}\n`);
        process.stderr.write(`service logs: ${dir}\n`);
      } else {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  try {
    await sourceAdmin.connect();
    if (options.topics.length > 0) {
      await sourceAdmin.createTopics({
        waitForLeaders: true,
        topics: options.topics.map((topic) => ({ topic, numPartitions: options.partitions })),
      });
    }
    addresses.forEach((address, n) => {
      writeFileSync(join(dir, `coordinator-${n}.yaml`), config(`listen: "${address}"`));
    });
    // Agents dial one address for all coordinators, as a Kubernetes Service gives them; a
    // standby names the leader, and the agent goes there.
    balancer = options.coordinators > 1 ? await startBalancer(addresses) : undefined;
    writeFileSync(
      join(dir, "agent.yaml"),
      config(`listen: "${addresses[0]}", address: "${balancer?.address ?? addresses[0]}"`),
    );
    for (const n of addresses.keys()) coordinators.push(await startCoordinator(n));
    for (const id of options.agents) await stack.startAgent(id);
    return stack;
  } catch (error) {
    await stack.stop(true).catch(() => {});
    throw error;
  }
}

/** Each connection goes to the first of `backends` that accepts it, starting at the next one. */
export async function startBalancer(backends: readonly string[]) {
  const sockets = new Set<Socket>();
  let turn = 0;
  const server = createServer((client) => {
    sockets.add(client);
    client.pause();
    const attempt = (left: number) => {
      const [host, port] = backends[turn++ % backends.length]!.split(":");
      const upstream = connect({ host: host!, port: Number(port) });
      sockets.add(upstream);
      upstream.once("error", () => (left > 1 ? attempt(left - 1) : client.destroy()));
      upstream.once("connect", () => {
        upstream.removeAllListeners("error");
        for (const [a, b] of [
          [client, upstream],
          [upstream, client],
        ] as const) {
          a.on("error", () => b.destroy());
          a.once("close", () => b.destroy());
          a.pipe(b);
        }
        client.resume();
      });
    };
    attempt(backends.length);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(server.address() as { port: number }).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Polls until `probe` returns a value; the error names what was awaited. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 60_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * Waits until all `count` units run on one of `on` (as the coordinator reports them), each of `on`
 * runs some, and nothing moved for `quietMs`; returns that assignment.
 */
export function settled(
  stack: Stack,
  count: number,
  on: readonly string[],
  quietMs = 2000,
  ignore: (unitId: string) => boolean = () => false,
): Promise<UnitRow[]> {
  let signature = "";
  let since = now();
  return waitUntil(
    `all ${count} units running on ${on.join(", ")}`,
    async () => {
      const rows = (await stack.units()).filter((u) => !ignore(u.id));
      // Every agent has its share: one just started may not have a session yet (behind a standby
      // it waits up to a renew interval to be sent to the leader).
      const ok =
        rows.length === count &&
        rows.every((u) => u.running && on.includes(u.actual)) &&
        on.every((agent) => count < on.length || rows.some((u) => u.actual === agent));
      const current = rows.map((u) => `${u.id}@${u.actual}/${u.epoch}`).join(",");
      if (!ok || current !== signature) {
        signature = current;
        since = now();
        return undefined;
      }
      return now() - since >= quietMs ? rows : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
}

/** Writes `perPartition` records (100 bytes) to every partition of `topics` every `tickMs`. */
export async function startSteadyLoad(
  source: KafkaCluster,
  topics: readonly string[],
  partitions: number,
  { perPartition = 1, tickMs = 100 } = {},
): Promise<{ stop(): Promise<number> }> {
  const client = createWireClient({
    clientId: "bench-load",
    brokers: source.bootstrapServers,
    logLevel: 0,
  });
  const producer = await initProducer(client);
  const value = Buffer.alloc(100, "x");
  let sent = 0;
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const started = now();
      const timestamp = BigInt(Date.now());
      const records = Array.from({ length: perPartition }, () => ({ timestamp, key: null, value }));
      await Promise.all(
        topics.flatMap((topic) =>
          Array.from({ length: partitions }, (_, p) =>
            producer.send(topic, p, { records }).then(() => {
              sent += perPartition;
            }),
          ),
        ),
      );
      await sleep(Math.max(0, tickMs - (now() - started)));
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      await producer.close();
      await client.close();
      return sent;
    },
  };
}

/** An idempotent producer, once the broker hands out producer ids (not at once after its start). */
export async function initProducer(client: KafkaWireClient): Promise<IdempotentProducer> {
  const producer = createIdempotentProducer(client);
  await waitUntil("a producer id", () => producer.init().then(() => true));
  return producer;
}

/**
 * End offset (high watermark) of one partition, or undefined while it does not exist. Metadata is
 * refreshed first: kafka-wire's listOffsets retries a topic or partition its metadata cache does
 * not know without refreshing it, for metadataMaxAgeMs (5 min).
 */
export async function endOffset(
  wire: KafkaWireClient,
  topic: string,
  partition: number,
): Promise<bigint | undefined> {
  try {
    wire.metadata.invalidate(topic);
    const [listed] = await wire.listOffsets(topic, [partition], "latest", { timeoutMs: 200 });
    return listed?.offset;
  } catch {
    return undefined;
  }
}

export function quantilesOf(samples: readonly number[]): {
  min: number;
  median: number;
  max: number;
} {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return {
    min: sorted[0] ?? 0,
    median:
      sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2),
    max: sorted[sorted.length - 1] ?? 0,
  };
}
