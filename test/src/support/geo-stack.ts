// The whole system as operators run it, for fault tests: two Kafka clusters, a Redis, one or two
// coordinator processes (two behind one shared address, like a Kubernetes Service) and agent
// processes in the target region, all configured from files like production.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "node:test";
import { createGrpcClient, type GrpcClient } from "@geo/grpc";
import { findFreePorts, type RedisServer, startRedis } from "@geo/local-runtime";
import { CoordinatorService, replicationV1 } from "@geo/proto";
import { Redis } from "ioredis";
import { lossCheck } from "./replica-check";
import { createTopic, type Pair, SOURCE, startPair, TARGET } from "./replication-fixtures";
import { type ServiceProcess, startService } from "./service-process";
import { type SteadyLoad, startSteadyLoad } from "./steady-load";
import { startTcpBalancer, type TcpBalancer } from "./tcp-balancer";

export const FLOW = `${SOURCE}->${TARGET}`;
/**
 * As in replication-e2e: a short TTL for fast takeovers, and a safety margin that leaves the
 * agents' produce deadline (the margin less 250 ms) long enough for a busy 2-core machine; a
 * shorter one makes units rewind and copy acknowledged records again.
 */
export const LEASES = { ttlMs: 3000, renewIntervalMs: 500, safetyMarginMs: 1500, graceMs: 500 };

export interface UnitRow {
  /** `flow/topic/partition` */
  id: string;
  desired: string;
  actual: string;
  state: replicationV1.UnitState;
  epoch: bigint;
}

export interface GeoStackOptions {
  name: string;
  topics: readonly string[];
  partitions: number;
  coordinators: 1 | 2;
  agents: readonly string[];
  /** Also run the health service (with the same configuration). */
  health?: boolean;
  /** The flow's `topics.include` regexes; default the topics. */
  include?: readonly string[];
  /** Every service exports spans there (OTLP/gRPC); agents trace one in `traceBatchesOneIn` batches. */
  telemetry?: { otlpEndpoint: string; traceBatchesOneIn?: number };
}

export interface GeoStack {
  readonly pair: Pair;
  readonly redis: RedisServer;
  readonly keyPrefix: string;
  /** By index; a restarted coordinator replaces the one it follows. */
  readonly coordinators: readonly ServiceProcess[];
  /** The health service, when asked for. */
  readonly health: ServiceProcess | undefined;
  /** Agents started and not killed, by id. */
  readonly agents: ReadonlyMap<string, ServiceProcess>;
  startAgent(id: string): Promise<ServiceProcess>;
  /**
   * Starts an offset-translation service (free ports) on the stack's config; `checkpoints`, the
   * flow-style YAML of `services.offsets.checkpoints` (e.g. "{ intervalMs: 60000 }").
   */
  startOffsets(checkpoints?: string): Promise<ServiceProcess>;
  /** Starts coordinator `index` again (same config and port) after it was killed. */
  restartCoordinator(index: number): Promise<ServiceProcess>;
  /** kill -9, then waits for the exit. */
  kill(service: ServiceProcess): Promise<void>;
  /** The coordinator holding the leader lease in Redis, if any. */
  leader(): Promise<ServiceProcess | undefined>;
  /** The flow's units as ListUnits through `via` (default the first live coordinator) shows them. */
  units(via?: ServiceProcess): Promise<UnitRow[]>;
  admin(via: ServiceProcess): GrpcClient<typeof CoordinatorService>;
  /** Writes every process's output to files; returns their folder. */
  saveLogs(): string;
  /** Stops everything; the logs folder is kept when `keepLogs` or GEO_HARNESS_KEEP=1. */
  stop(keepLogs?: boolean): Promise<void>;
}

export interface StackUnderLoad {
  stack: GeoStack;
  /** Sequence-numbered records to every partition of the stack's topics, from the start. */
  load: SteadyLoad;
  /** Every record of the load so far in the target, in order (see lossCheck). */
  assertNothingLost: ReturnType<typeof lossCheck>;
}

/** A stack with a steady load running on its topics: what the fault tests start from. */
export async function startStackUnderLoad(options: GeoStackOptions): Promise<StackUnderLoad> {
  const stack = await startGeoStack(options);
  const { topics, partitions } = options;
  return {
    stack,
    load: await startSteadyLoad(stack.pair.source.kafka, topics, partitions),
    assertNothingLost: lossCheck(stack.pair.source, stack.pair.target, topics, partitions),
  };
}

/** Stops the load, then the stack, keeping the services' logs when a test failed. */
export async function stopStackUnderLoad(
  running: Partial<StackUnderLoad> | undefined,
  failures: { readonly failed: boolean },
): Promise<void> {
  await running?.load?.stop().catch(() => {});
  await running?.stack?.stop(failures.failed);
}

export async function startGeoStack(options: GeoStackOptions): Promise<GeoStack> {
  const [pair, redis] = await Promise.all([startPair(options.name), startRedis()]);
  const dir = mkdtempSync(join(tmpdir(), `geo-${options.name}-`));
  const keyPrefix = `geo-${options.name}:`;
  const named: { name: string; service: ServiceProcess }[] = [];
  const agents = new Map<string, ServiceProcess>();
  const coordinators: ServiceProcess[] = [];
  const clients = new Map<string, GrpcClient<typeof CoordinatorService>>();
  let balancer: TcpBalancer | undefined;
  let redisClient: Redis | undefined;
  let offsetsConfig: (port: number, checkpoints?: string) => string = () => {
    throw new Error("the stack has not started");
  };

  const stack: GeoStack = {
    pair,
    redis,
    keyPrefix,
    coordinators,
    agents,
    health: undefined,
    async startAgent(id) {
      const service = await startService("agent", [
        "--config",
        join(dir, "agent.yaml"),
        "--region",
        TARGET,
        "--id",
        id,
      ]);
      agents.set(id, service);
      named.push({ name: id, service });
      return service;
    },
    async startOffsets(checkpoints) {
      const [port] = await findFreePorts(1);
      writeFileSync(join(dir, "offsets.yaml"), offsetsConfig(port!, checkpoints));
      const service = await startService("offsets", ["--config", join(dir, "offsets.yaml")]);
      named.push({ name: `offsets-${named.length}`, service });
      return service;
    },
    async restartCoordinator(index) {
      const service = await startCoordinator(index);
      coordinators[index] = service;
      return service;
    },
    async kill(service) {
      service.child.kill("SIGKILL");
      await service.exited;
      for (const [id, agent] of agents) if (agent === service) agents.delete(id);
    },
    async leader() {
      if (redisClient === undefined) {
        redisClient = new Redis(redis.url, { maxRetriesPerRequest: 1 });
        // While a test stops Redis the client reconnects; its calls fail, that is enough.
        redisClient.on("error", () => {});
      }
      const token = await redisClient.get(`${keyPrefix}coordinator:leader`);
      if (token === null) return undefined;
      const id = token.slice(0, token.lastIndexOf("/"));
      return coordinators.find((c) => `${hostname()}-${c.child.pid}` === id);
    },
    async units(via) {
      const through =
        via ?? coordinators.find((c) => c.child.exitCode === null && c.child.signalCode === null);
      if (through === undefined) throw new Error("no coordinator is running");
      const { units } = await stack.admin(through).listUnits({ flow: FLOW });
      return units.map((unit) => ({
        id: `${unit.unit?.flow}/${unit.unit?.sourceTopic}/${unit.unit?.partition}`,
        desired: unit.desiredAgentId,
        actual: unit.actualAgentId,
        state: unit.state,
        epoch: BigInt(unit.epoch || "0"),
      }));
    },
    admin(via) {
      const address = via.endpoints.grpc!;
      let client = clients.get(address);
      if (client === undefined) {
        client = createGrpcClient(CoordinatorService, { address, defaultTimeoutMs: 5000 });
        clients.set(address, client);
      }
      return client;
    },
    saveLogs() {
      const logs = join(dir, "logs");
      mkdirSync(logs, { recursive: true });
      for (const { name, service } of named) {
        writeFileSync(join(logs, `${name}.log`), `${service.output.join("\n")}\n`);
      }
      return logs;
    },
    async stop(keepLogs = false) {
      for (const client of clients.values()) client.close();
      await Promise.all(named.map(({ service }) => service.stop()));
      await balancer?.close();
      redisClient?.disconnect();
      await pair.stop();
      await redis.stop();
      if (keepLogs || process.env.GEO_HARNESS_KEEP === "1") {
        process.stderr.write(`service logs: ${stack.saveLogs()}\n`);
      } else {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };

  const coordinatorStarts = new Map<number, number>();
  const startCoordinator = async (index: number) => {
    const service = await startService("coordinator", [
      "--config",
      join(dir, `coordinator-${index}.yaml`),
    ]);
    const starts = coordinatorStarts.get(index) ?? 0;
    coordinatorStarts.set(index, starts + 1);
    const name = `coordinator-${index}${starts === 0 ? "" : `-restart-${starts}`}`;
    named.push({ name, service });
    return service;
  };

  try {
    await Promise.all(
      options.topics.map((topic) => createTopic(pair.source, topic, options.partitions)),
    );
    const ports = await findFreePorts(options.coordinators);
    const healthLine = options.health
      ? `  health: { listen: "127.0.0.1:${(await findFreePorts(1))[0]}", metricsListen: "127.0.0.1:0" }\n`
      : "";
    const config = (coordinator: string) => `clusters:
  ${SOURCE}: { bootstrapServers: [${pair.source.cluster.bootstrapServers.join(", ")}] }
  ${TARGET}: { bootstrapServers: [${pair.target.cluster.bootstrapServers.join(", ")}] }
flows:
  - { name: "${FLOW}", source: ${SOURCE}, target: ${TARGET}, topics: { include: [${(options.include ?? options.topics).join(", ")}] } }
redis: { url: "${redis.url}", keyPrefix: "${keyPrefix}" }
services:
  coordinator: { ${coordinator}, metricsListen: "127.0.0.1:0" }
${healthLine}  agent: { listen: "127.0.0.1:0", metricsListen: "127.0.0.1:0" }
leases: { ttlMs: ${LEASES.ttlMs}, renewIntervalMs: ${LEASES.renewIntervalMs}, safetyMarginMs: ${LEASES.safetyMarginMs}, graceMs: ${LEASES.graceMs} }
discovery: { intervalMs: 500 }
logging: { level: info }
${telemetryConfig(options.telemetry)}`;
    const addresses = ports.map((port) => `127.0.0.1:${port}`);
    for (const [n, address] of addresses.entries()) {
      writeFileSync(join(dir, `coordinator-${n}.yaml`), config(`listen: "${address}"`));
    }
    let agentsDial = addresses[0]!;
    if (options.coordinators > 1) {
      balancer = await startTcpBalancer(() => addresses);
      agentsDial = balancer.address;
    }
    offsetsConfig = (port, checkpoints) =>
      config(
        `listen: "${addresses[0]}", metricsListen: "127.0.0.1:0" }\n  offsets: { listen: "127.0.0.1:${port}"${checkpoints === undefined ? "" : `, checkpoints: ${checkpoints}`}`,
      );
    writeFileSync(
      join(dir, "agent.yaml"),
      config(`listen: "127.0.0.1:${ports[0]}", address: "${agentsDial}"`),
    );
    coordinators.push(...(await Promise.all(ports.map((_, n) => startCoordinator(n)))));
    for (const id of options.agents) await stack.startAgent(id);
    if (options.health) {
      const health = await startService("health", ["--config", join(dir, "coordinator-0.yaml")]);
      named.push({ name: "health", service: health });
      (stack as { health: ServiceProcess | undefined }).health = health;
    }
    return stack;
  } catch (error) {
    await stack.stop(true);
    throw error;
  }
}

/** True when every one of `count` units runs, reported by its desired agent, one of `on`. */
export function allRunningOn(units: readonly UnitRow[], count: number, on: readonly string[]) {
  return (
    units.length === count &&
    units.every(
      (u) =>
        u.state === replicationV1.UnitState.RUNNING &&
        u.actual === u.desired &&
        on.includes(u.actual),
    )
  );
}

/** Units per agent, e.g. { "agent-1": 8, ... }. */
export function countsByAgent(units: readonly UnitRow[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const unit of units) counts[unit.actual] = (counts[unit.actual] ?? 0) + 1;
  return counts;
}

/**
 * Waits until every unit runs on one of `on` and no owner or epoch changed for `quietMs`, and
 * returns that assignment: a reference to tell a fault's moves from balancing still under way.
 */
export async function settledUnits(
  stack: GeoStack,
  count: number,
  on: readonly string[],
  {
    quietMs = 2000,
    timeoutMs = 60_000,
    via,
  }: { quietMs?: number; timeoutMs?: number; via?: ServiceProcess } = {},
): Promise<UnitRow[]> {
  const deadline = Date.now() + timeoutMs;
  let signature = "";
  let since = Date.now();
  let rows: UnitRow[] = [];
  for (;;) {
    try {
      rows = await stack.units(via);
    } catch {
      rows = [];
    }
    const now = rows.map((u) => `${u.id}@${u.actual}/${u.epoch}`).join(",");
    if (!allRunningOn(rows, count, on) || now !== signature) {
      signature = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return rows;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the assignment did not settle on ${on.join(", ")} within ${timeoutMs} ms; last: ${json(countsByAgent(rows))}, not running: ${rows
          .filter((u) => u.state !== replicationV1.UnitState.RUNNING || u.actual !== u.desired)
          .map((u) => `${u.id} desired ${u.desired} actual ${u.actual}`)
          .join("; ")}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** How many times a unit's desired agent changed while watching for `ms`. */
export async function countMoves(stack: GeoStack, ms: number): Promise<number> {
  const desired = new Map<string, string>();
  let moves = 0;
  const until = Date.now() + ms;
  while (Date.now() < until) {
    for (const unit of await stack.units().catch(() => [])) {
      const last = desired.get(unit.id);
      if (last !== undefined && unit.desired !== "" && last !== unit.desired) moves += 1;
      if (unit.desired !== "") desired.set(unit.id, unit.desired);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return moves;
}

/** JSON that shows bigints (epochs) as strings, for messages. */
export const json = (value: unknown) =>
  JSON.stringify(value, (_, v) => (typeof v === "bigint" ? String(v) : v));

/** Remembers whether a test of the file failed, so that its stack keeps the services' logs. */
export function trackFailures(): { readonly failed: boolean } {
  const state = { failed: false };
  afterEach((t) => {
    // Node 24's context says whether the test passed; the installed @types/node predates it.
    if ((t as { passed?: boolean }).passed === false) state.failed = true;
  });
  return state;
}

function telemetryConfig(telemetry: GeoStackOptions["telemetry"]): string {
  if (telemetry === undefined) return "";
  const sampling =
    telemetry.traceBatchesOneIn === undefined
      ? ""
      : `, traceBatchesOneIn: ${telemetry.traceBatchesOneIn}`;
  return `telemetry: { enabled: true, otlpEndpoint: "${telemetry.otlpEndpoint}"${sampling} }\n`;
}
