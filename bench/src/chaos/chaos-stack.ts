// The fault suite's system: a source cluster whose broker has a second listener that only the
// agents use, reached through a fault proxy (so a network fault hits the agent → source path
// and nothing else), a target cluster of one or three brokers, Redis, two coordinators behind
// one address, agents of the target region, and optionally the offsets and health services.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type FaultProxy,
  findFreePorts,
  type KafkaCluster,
  type RedisServer,
  startFaultProxy,
  startKafkaCluster,
  startRedis,
  stopAll,
} from "@geo/local-runtime";
import { type ServiceProcess, sleep, startBalancer, startService } from "../service-stack";

export const SOURCE = "us-east";
export const TARGET = "eu-west";
export const FLOW = "chaos-flow";

export interface ChaosLeases {
  ttlMs: number;
  renewIntervalMs: number;
  safetyMarginMs: number;
  graceMs: number;
}

export interface ChaosStackOptions {
  topics: readonly string[];
  partitions: number;
  targetBrokers: 1 | 3;
  agents: readonly string[];
  /** Also run the offsets and health services (their kill -9 must not pause replication). */
  hubServices: boolean;
  leases: ChaosLeases;
}

type Kind = "coordinator" | "agent" | "offsets" | "health";

export interface ChaosStack {
  readonly source: KafkaCluster;
  readonly target: KafkaCluster;
  readonly redis: RedisServer;
  /** Between the agents and the source broker. */
  readonly proxy: FaultProxy;
  /** By name: coordinator-0, coordinator-1, agent ids, offsets, health. */
  readonly services: Map<string, ServiceProcess>;
  /** Starts (or starts again, same ports and files) the named service. */
  start(name: string): Promise<ServiceProcess>;
  /** kill -9, then waits for the exit. */
  kill(name: string): Promise<void>;
  /** The coordinator that logged last that it leads, among the live ones. */
  leader(): string | undefined;
  stop(keepLogs: boolean): Promise<void>;
}

export async function startChaosStack(options: ChaosStackOptions): Promise<ChaosStack> {
  const dir = mkdtempSync(join(tmpdir(), "geo-chaos-"));
  const [agentListener, c0, c1, offsetsPort, healthPort] = await findFreePorts(5);
  const proxy = await startFaultProxy(`127.0.0.1:${agentListener}`);
  const [source, target, redis] = await Promise.all([
    startKafkaCluster({
      name: `chaos-${SOURCE}`,
      // The agents' listener, advertised as the proxy: their metadata names the proxy too.
      brokerPropertiesFor: ({ port, controllerPort }) => ({
        listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort},AGENT://127.0.0.1:${agentListener}`,
        "advertised.listeners": `PLAINTEXT://127.0.0.1:${port},AGENT://127.0.0.1:${proxy.port}`,
        "listener.security.protocol.map":
          "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,AGENT:PLAINTEXT",
      }),
    }),
    startKafkaCluster({
      name: `chaos-${TARGET}`,
      brokers: options.targetBrokers,
      // Three brokers: a restarted one is not a write outage (RF 3, two in sync suffice).
      ...(options.targetBrokers === 3 ? { brokerProperties: { "min.insync.replicas": 2 } } : {}),
    }),
    startRedis(),
  ]);
  const coordinatorAddresses = [`127.0.0.1:${c0}`, `127.0.0.1:${c1}`];
  const file = (sourceServers: string, services: string) => `clusters:
  ${SOURCE}: { bootstrapServers: [${sourceServers}] }
  ${TARGET}: { bootstrapServers: [${target.bootstrapServers.join(", ")}] }
flows:
  - { name: "${FLOW}", source: ${SOURCE}, target: ${TARGET}, topics: { include: [${options.topics.join(", ")}] } }
redis: { url: "${redis.url}", keyPrefix: "chaos:" }
services:
${services}
leases: { ttlMs: ${options.leases.ttlMs}, renewIntervalMs: ${options.leases.renewIntervalMs}, safetyMarginMs: ${options.leases.safetyMarginMs}, graceMs: ${options.leases.graceMs} }
discovery: { intervalMs: 500 }
logging: { level: info }
`;
  const hub = (coordinator: string) =>
    [
      `  coordinator: { ${coordinator}, metricsListen: "127.0.0.1:0" }`,
      `  offsets: { listen: "127.0.0.1:${offsetsPort}", address: "127.0.0.1:${offsetsPort}" }`,
      `  health: { listen: "127.0.0.1:${healthPort}", address: "127.0.0.1:${healthPort}" }`,
      `  agent: { listen: "127.0.0.1:0", metricsListen: "127.0.0.1:0" }`,
    ].join("\n");
  const balancer = await startBalancer(coordinatorAddresses);
  for (const [n, address] of coordinatorAddresses.entries()) {
    writeFileSync(
      join(dir, `coordinator-${n}.yaml`),
      file(source.bootstrapServers.join(", "), hub(`listen: "${address}", address: "${address}"`)),
    );
  }

  // Agents reach the coordinators through one address; a standby names the leader.
  writeFileSync(
    join(dir, "agent.yaml"),
    file(
      proxy.address,
      hub(`listen: "${coordinatorAddresses[0]}", address: "${balancer.address}"`),
    ),
  );
  const services = new Map<string, ServiceProcess>();
  const started: ServiceProcess[] = [];
  const commandOf = (name: string): [Kind, string[]] => {
    if (name.startsWith("coordinator-")) {
      return ["coordinator", ["--config", join(dir, `${name}.yaml`)]];
    }
    if (name === "offsets" || name === "health") {
      return [name, ["--config", join(dir, "coordinator-0.yaml")]];
    }
    return ["agent", ["--config", join(dir, "agent.yaml"), "--region", TARGET, "--id", name]];
  };
  const stack: ChaosStack = {
    source,
    target,
    redis,
    proxy,
    services,
    async start(name) {
      const [kind, args] = commandOf(name);
      // A restarted agent keeps its id: until the killed one's liveness lapses it is refused.
      for (let attempt = 0; ; attempt++) {
        try {
          const service = await startService(kind, name, args);
          services.set(name, service);
          started.push(service);
          return service;
        } catch (error) {
          if (attempt >= 5) throw error;
          await sleep(options.leases.ttlMs / 2);
        }
      }
    },
    async kill(name) {
      const service = services.get(name);
      if (service === undefined) throw new Error(`no service ${name}`);
      service.child.kill("SIGKILL");
      await service.exited;
    },
    leader() {
      let best: { name: string; at: number } | undefined;
      for (const [name, service] of services) {
        if (!name.startsWith("coordinator-") || !service.alive()) continue;
        const lines = service.output.filter((l) => l.includes("leading: assignment rounds"));
        const last = lines.at(-1);
        if (last === undefined || last.includes("no longer leading")) continue;
        const at = Date.parse((JSON.parse(last) as { time: string }).time);
        if (best === undefined || at > best.at) best = { name, at };
      }
      return best?.name;
    },
    async stop(keepLogs) {
      for (const service of services.values()) {
        if (!service.alive()) continue;
        service.child.kill("SIGCONT");
        service.child.kill("SIGTERM");
      }
      await Promise.all([...services.values()].map((s) => (s.alive() ? s.exited : undefined)));
      await proxy.close();
      await balancer.close();
      try {
        process.kill(redis.pid, "SIGCONT");
      } catch {}
      await stopAll();
      if (keepLogs || process.env.GEO_HARNESS_KEEP === "1") {
        for (const s of started) {
          writeFileSync(join(dir, `${s.name}-${s.child.pid}.log`), `${s.output.join("\n")}\n`);
        }
        process.stderr.write(`service logs: ${dir}\n`);
      } else {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  try {
    const names = [
      "coordinator-0",
      "coordinator-1",
      ...(options.hubServices ? ["offsets", "health"] : []),
    ];
    await Promise.all(names.map((name) => stack.start(name)));
    for (const id of options.agents) await stack.start(id);
    return stack;
  } catch (error) {
    await stack.stop(true).catch(() => {});
    throw error;
  }
}
