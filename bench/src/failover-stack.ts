// The system under the `failover` benchmark, as operators run it: two single-broker clusters
// (us-east active, eu-west passive), a Redis, the coordinator, offsets and health services and
// one eu-west agent as processes, an API-owned flow us-east -> eu-west of topic `orders` (12
// partitions, the services' own group sync off: the group's position in eu-west comes from the
// transition), the flow group `orders` with consumer group `billing`; and beside it, on the same
// clusters, MirrorMaker 2 replicating `orders` as `east.orders` with checkpoints of `billing`,
// and the RemoteClusterUtils helper.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGrpcClient, type GrpcClient } from "@geo/grpc";
import {
  findFreePorts,
  type KafkaCluster,
  startKafkaClusters,
  startRedis,
} from "@geo/local-runtime";
import { CoordinatorService, OffsetTranslationService, ReplicationHealthService } from "@geo/proto";
import { type Admin, Kafka, logLevel } from "kafkajs";
import {
  type MirrorMaker,
  type OffsetTranslator,
  startMirrorMaker,
  startOffsetTranslator,
} from "./mirror-maker";
import { type ServiceProcess, sleep, startService, waitUntil } from "./service-stack";

export const TOPIC = "orders";
export const GROUP = "billing";
export const FLOW_GROUP = "orders";
export const FLOW = "east-west";
export const PARTITIONS = 12;
export const REMOTE = `us-east.${TOPIC}`;
export const MM2_ALIAS = "east";
export const MM2_REMOTE = `${MM2_ALIAS}.${TOPIC}`;
/** Our offsets service checkpoints every 4 s; MirrorMaker 2 is given the same period. */
export const CHECKPOINT_SECONDS = 4;

export interface FailoverStack {
  readonly clusters: readonly KafkaCluster[];
  /** kafkajs clients and admins of us-east (0) and eu-west (1). */
  readonly kafkas: readonly Kafka[];
  readonly admins: readonly Admin[];
  readonly healthAddress: string;
  readonly health: GrpcClient<typeof ReplicationHealthService>;
  readonly offsets: GrpcClient<typeof OffsetTranslationService>;
  readonly mm2: MirrorMaker;
  readonly translator: OffsetTranslator;
  /** The last lines of each service, and whether it still runs (for a failed run). */
  diagnostics(): string;
  stop(): Promise<void>;
}

export async function startFailoverStack(name: string): Promise<FailoverStack> {
  const [clusters, redis] = await Promise.all([
    startKafkaClusters([{ name: `${name}-us-east` }, { name: `${name}-eu-west` }]),
    startRedis(),
  ]);
  const dir = mkdtempSync(join(tmpdir(), `geo-bench-${name}-`));
  const [coordinatorPort, healthPort, offsetsPort] = await findFreePorts(3);
  const configPath = join(dir, "geo.yaml");
  writeFileSync(
    configPath,
    `clusters:
  us-east: { bootstrapServers: [${clusters[0]!.bootstrapServers.join(", ")}] }
  eu-west: { bootstrapServers: [${clusters[1]!.bootstrapServers.join(", ")}] }
redis: { url: "${redis.url}", keyPrefix: "bench:" }
flowStore: { cluster: eu-west }
flowGroups:
  - { name: ${FLOW_GROUP}, clusters: [us-east, eu-west], consumerGroups: [${GROUP}] }
services:
  coordinator: { listen: "127.0.0.1:${coordinatorPort}", metricsListen: "127.0.0.1:0" }
  health: { listen: "127.0.0.1:${healthPort}", metricsListen: "127.0.0.1:0" }
  offsets: { listen: "127.0.0.1:${offsetsPort}", metricsListen: "127.0.0.1:0" }
  agent: { listen: "127.0.0.1:0", metricsListen: "127.0.0.1:0" }
logging: { level: info }
`,
  );
  const kafkas = clusters.map(
    (cluster) =>
      new Kafka({
        clientId: `${name}-bench`,
        brokers: [...cluster.bootstrapServers],
        logLevel: logLevel.NOTHING,
      }),
  );
  const admins = kafkas.map((kafka) => kafka.admin());
  await Promise.all(admins.map((admin) => admin.connect()));
  // `orders` in eu-west too: the following producer writes there after the flip.
  for (const admin of admins) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1 }],
    });
    await waitUntil(`${TOPIC} answering its offsets`, async () =>
      (await admin.fetchTopicOffsets(TOPIC)).length === PARTITIONS ? true : undefined,
    );
  }
  const service = (kind: "coordinator" | "health" | "offsets") =>
    startService(kind, `${name}-${kind}`, ["--config", configPath]);
  // One after another: on a loaded machine, starting them together can exceed the 30 s each has.
  const coordinator = await service("coordinator");
  const health = await service("health");
  const offsets = await service("offsets");
  const admin = createGrpcClient(CoordinatorService, {
    address: coordinator.endpoints.grpc!,
    defaultTimeoutMs: 30_000,
  });
  await waitUntil(
    `flow ${FLOW} created (once a coordinator leads)`,
    async () => {
      await admin.createFlow({
        flow: {
          name: FLOW,
          sourceCluster: "us-east",
          targetCluster: "eu-west",
          topics: { include: [TOPIC] },
          syncGroupOffsets: false,
        },
      });
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  const agent = await startService("agent", `${name}-agent`, [
    "--config",
    configPath,
    "--region",
    "eu-west",
    "--id",
    "agent-eu-1",
  ]);
  await waitUntil(
    "agent-eu-1 connected",
    async () =>
      (await admin.listAgents({ region: "eu-west" })).agents.some((a) => a.connected) || undefined,
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  const mm2 = startMirrorMaker({
    source: clusters[0]!,
    target: clusters[1]!,
    sourceAlias: MM2_ALIAS,
    targetAlias: "west",
    topics: TOPIC,
    groups: GROUP,
    checkpointSeconds: CHECKPOINT_SECONDS,
    dir,
  });
  const translator = await startOffsetTranslator(clusters[1]!, dir);
  const stack: FailoverStack = {
    clusters,
    kafkas,
    admins,
    healthAddress: health.endpoints.grpc!,
    health: createGrpcClient(ReplicationHealthService, {
      address: health.endpoints.grpc!,
      defaultTimeoutMs: 120_000,
    }),
    offsets: createGrpcClient(OffsetTranslationService, {
      address: offsets.endpoints.grpc!,
      // A loaded machine (load average 47) took 8.6 s just to pick the connection: 10 s failed.
      defaultTimeoutMs: 60_000,
    }),
    mm2,
    translator,
    diagnostics: () =>
      [coordinator, health, offsets, agent]
        .map(
          (s) =>
            `--- ${s.name} (${s.alive() ? "running" : `exited ${s.child.exitCode ?? s.child.signalCode}`})\n${s.output.slice(-15).join("\n")}`,
        )
        .join("\n"),
    async stop() {
      stack.health.close();
      stack.offsets.close();
      admin.close();
      await Promise.all(admins.map((a) => a.disconnect().catch(() => undefined)));
      await Promise.all([mm2.stop(), translator.stop()]);
      await Promise.all([coordinator, health, offsets, agent].map(stopService));
      await Promise.all([...clusters.map((c) => c.stop()), redis.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

async function stopService(service: ServiceProcess): Promise<void> {
  if (!service.alive()) return;
  service.child.kill("SIGTERM");
  const timer = setTimeout(() => service.child.kill("SIGKILL"), 10_000);
  await service.exited;
  clearTimeout(timer);
}

/**
 * Whether `groupId` in `admin`'s cluster has committed up to the end of every partition of
 * `topics` (kafkajs commits after each batch it handled).
 */
export async function caughtUp(
  admin: Admin,
  groupId: string,
  topics: readonly string[],
): Promise<boolean> {
  const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
  for (const topic of topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    const mine = committed.find((c) => c.topic === topic)?.partitions ?? [];
    for (const end of ends) {
      const at = Number(mine.find((p) => p.partition === end.partition)?.offset ?? -1);
      if ((at < 0 ? Number(end.low) : at) < Number(end.high)) return false;
    }
  }
  return true;
}

/** Sum of the end offsets of `topic`. */
export async function endOffsetSum(admin: Admin, topic: string): Promise<number> {
  const ends = await admin.fetchTopicOffsets(topic).catch(() => []);
  return ends.reduce((sum, p) => sum + Number(p.high), 0);
}

/** Waits until `topic`'s end offsets stop moving for `quietMs` (a source that is gone). */
export async function settledEnd(admin: Admin, topic: string, quietMs: number): Promise<number> {
  let last = -1;
  let since = performance.now();
  for (;;) {
    const sum = await endOffsetSum(admin, topic);
    if (sum !== last) {
      last = sum;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) {
      return sum;
    }
    await sleep(500);
  }
}
