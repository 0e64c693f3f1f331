// What the switchover and failover tests share: the region stack (two Kafka clusters, Redis)
// with the coordinator, the offsets and health services as processes, an API-owned flow
// us-east->eu-west of topic `orders` without the offsets service's own group sync (so a group's
// position in eu-west comes from the transition's CommitTranslatedOffsets only), agents in
// eu-west, a sequenced producer and a consumer of group `billing` that commits what it read.
import { createGrpcClient, type GrpcClient } from "@geo/grpc";
import { type AuthorizerOptions, findFreePorts } from "@geo/local-runtime";
import type { Logger } from "@geo/logging";
import {
  CoordinatorService,
  type healthV1,
  OffsetTranslationService,
  ReplicationHealthService,
} from "@geo/proto";
import { type Admin, Kafka, logLevel } from "kafkajs";
import { createTopicsEverywhere, type RegionStack, startRegionStack } from "./region-stack";
import { type ServiceProcess, startService } from "./service-process";
import { waitFor } from "./wait-for";

export const GROUP = "billing";
export const TOPIC = "orders";
export const REMOTE = `us-east.${TOPIC}`;
export const FLOW_NAME = "east-west";
/** The flow back, eu-west->us-east, made (paused) with `withReverseFlow`. */
export const REVERSE_FLOW_NAME = "west-east";
const PARTITIONS = 3;

export interface SwitchoverRig {
  readonly stack: RegionStack;
  readonly client: GrpcClient<typeof ReplicationHealthService>;
  readonly admin: GrpcClient<typeof CoordinatorService>;
  readonly offsets: ServiceProcess;
  readonly health: ServiceProcess;
  /** `host:port` of the health service. */
  readonly healthAddress: string;
  /** kafkajs admins of us-east (0) and eu-west (1). */
  readonly admins: readonly Admin[];
  /** Starts an agent in `region` (default eu-west) and waits until the coordinator shows it connected. */
  startAgent(id: string, region?: string): Promise<ServiceProcess>;
  /**
   * Records `from..to-1` into `orders` of cluster `index` (default 0, us-east): value = the
   * sequence number, partition = seq mod 3.
   */
  produce(from: number, to: number, index?: number): Promise<void>;
  /**
   * Consumes `topic` (or several) as GROUP in cluster `index` until `enough`; commits exactly
   * what it processed (records delivered after that are not counted) and leaves the group.
   */
  consume(
    index: number,
    topic: string | readonly string[],
    enough: (seen: number[]) => boolean,
    timeoutMs: number,
  ): Promise<number[]>;
  /** Waits until the offsets service checkpointed GROUP at `consumed` records (all exact). */
  waitForCheckpoints(consumed: number): Promise<void>;
  /** Waits until eu-west holds `total` records of the remote topic. */
  waitForReplicated(total: number): Promise<void>;
  /** The flow group `orders` as the health service answers it. */
  stateOf(): Promise<healthV1.RegionState>;
  stop(): Promise<void>;
}

/** Configured besides GROUP by tests of a group that never consumes (no committed offsets). */
export const IDLE_GROUP = "reports";

/** The group `orders` (the flow group of every rig test) as YAML, with `extra` settings. */
export const ordersGroup = (extra = "", groups: readonly string[] = [GROUP]) =>
  `  - { name: orders, clusters: [us-east, eu-west], consumerGroups: [${groups.join(", ")}]${extra} }`;

export interface SwitchoverRigOptions {
  /** The flowGroups section (default: `orders` alone). */
  readonly flowGroups?: string;
  /**
   * Also the flow back, eu-west->us-east of `orders` (paused until a transition, as the demo's
   * pair), and `orders` in eu-west too: for round trips.
   */
  readonly withReverseFlow?: boolean;
  /**
   * Both clusters with KRaft's StandardAuthorizer; the services and agents connect as
   * `servicesUser` (a super user) on the SASL listener. The test's own clients (`admins`,
   * `produce`, `consume`) keep the PLAINTEXT listener, the harness's super user.
   */
  readonly authorizer?: AuthorizerOptions & { readonly servicesUser: string };
}

export async function startSwitchoverRig(
  name: string,
  logger: Logger,
  options: SwitchoverRigOptions = {},
): Promise<SwitchoverRig> {
  const [coordinatorPort, healthPort, offsetsPort] = await findFreePorts(3);
  const stack = await startRegionStack({
    name,
    keyPrefix: `geo-${name}:`,
    logger,
    ...(options.authorizer === undefined ? {} : { authorizer: options.authorizer }),
    // The coordinator's flow store in eu-west: a pause during a failover must not need us-east.
    rest: `flowStore: { cluster: eu-west }
flowGroups:
${options.flowGroups ?? ordersGroup()}
services:
  coordinator: { listen: "127.0.0.1:${coordinatorPort}", metricsListen: "127.0.0.1:0" }
  health: { listen: "127.0.0.1:${healthPort}", metricsListen: "127.0.0.1:0" }
  offsets: { listen: "127.0.0.1:${offsetsPort}", metricsListen: "127.0.0.1:0" }
  agent: { listen: "127.0.0.1:0", metricsListen: "127.0.0.1:0" }
logging: { level: info }
`,
  });
  // A set-up that fails half-way stops what it started: a Redis client or a kafkajs admin
  // left open would keep the test process alive.
  const started: ServiceProcess[] = [];
  const kafkas = stack.clusters.map(
    (cluster) =>
      new Kafka({
        clientId: `${name}-test`,
        brokers: [...cluster.bootstrapServers],
        logLevel: logLevel.NOTHING,
      }),
  );
  const admins = kafkas.map((kafka) => kafka.admin());
  const grpcClients: { close(): void }[] = [];
  const cleanUp = async () => {
    for (const client of grpcClients) client.close();
    await Promise.all(admins.map((a) => a.disconnect().catch(() => undefined)));
    await Promise.all(started.map((s) => s.stop()));
    await stack.stop();
  };
  // Generous: on a loaded machine a service can take a minute to log "started" (and up to three
  // times the bound while it still uses CPU: service-process.ts).
  const start = async (service: string, args: readonly string[] = []) => {
    const process = await startService(
      service,
      ["--config", stack.configPath, ...args],
      stack.env,
      120_000,
    );
    started.push(process);
    return process;
  };
  try {
    await Promise.all(admins.map((a) => a.connect()));
    await createTopicsEverywhere(options.withReverseFlow ? admins : [admins[0]!], [TOPIC]);
    const [coordinator, health, offsets] = await Promise.all([
      start("coordinator"),
      start("health"),
      start("offsets"),
    ]);
    const admin = createGrpcClient(CoordinatorService, {
      address: coordinator.endpoints.grpc!,
      defaultTimeoutMs: 30_000,
    });
    grpcClients.push(admin);
    // API-owned: the coordinator pauses only those.
    await waitFor(
      `flow ${FLOW_NAME} created (once a coordinator leads)`,
      async () => {
        await admin.createFlow({
          flow: {
            name: FLOW_NAME,
            sourceCluster: "us-east",
            targetCluster: "eu-west",
            topics: { include: [TOPIC] },
            syncGroupOffsets: false,
          },
        });
        return true;
        // A coordinator leads once it holds its lease: slow to come on a loaded machine.
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    if (options.withReverseFlow) await createPausedReverseFlow(admin);
    const client = createGrpcClient(ReplicationHealthService, {
      address: health.endpoints.grpc!,
      defaultTimeoutMs: 120_000,
    });
    grpcClients.push(client);
    return rigOf({
      stack,
      kafkas,
      admins,
      admin,
      client,
      offsets,
      health,
      healthAddress: health.endpoints.grpc!,
      start,
      cleanUp,
    });
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

function rigOf(parts: {
  stack: RegionStack;
  kafkas: readonly Kafka[];
  admins: readonly Admin[];
  admin: GrpcClient<typeof CoordinatorService>;
  client: GrpcClient<typeof ReplicationHealthService>;
  offsets: ServiceProcess;
  health: ServiceProcess;
  healthAddress: string;
  start: (service: string, args?: readonly string[]) => Promise<ServiceProcess>;
  cleanUp: () => Promise<void>;
}): SwitchoverRig {
  const { stack, kafkas, admins, admin, client, offsets, health, healthAddress, start, cleanUp } =
    parts;
  return {
    stack,
    client,
    admin,
    offsets,
    health,
    healthAddress,
    admins,
    async startAgent(id, region = "eu-west") {
      const started = await start("agent", ["--region", region, "--id", id]);
      await waitFor(
        `${id} connected`,
        async () =>
          (await admin.listAgents({ region })).agents.some((a) => a.connected && a.id === id),
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      return started;
    },
    async produce(from, to, index = 0) {
      const producer = kafkas[index]!.producer();
      await producer.connect();
      const messages = [];
      for (let seq = from; seq < to; seq++) {
        messages.push({ partition: seq % PARTITIONS, key: String(seq), value: String(seq) });
      }
      await producer.send({ topic: TOPIC, messages });
      await producer.disconnect();
    },
    consume: (index, topic, enough, timeoutMs) =>
      consumeAsGroup(kafkas[index]!, topic, enough, timeoutMs),
    async waitForCheckpoints(consumed) {
      const client = createGrpcClient(OffsetTranslationService, {
        address: offsets.endpoints.grpc!,
        defaultTimeoutMs: 10_000,
      });
      try {
        await waitFor(
          `${GROUP}'s checkpoints at its committed positions`,
          async () => {
            const { checkpoints } = await client.listCheckpoints({ flow: FLOW_NAME, group: GROUP });
            const sum = checkpoints.reduce((s, c) => s + BigInt(c.sourceOffset), 0n);
            return sum === BigInt(consumed) && checkpoints.every((c) => c.exact);
          },
          { timeoutMs: 60_000, intervalMs: 1000 },
        );
      } finally {
        client.close();
      }
    },
    async waitForReplicated(total) {
      await waitFor(
        "everything replicated",
        async () => {
          const ends = await admins[1]!.fetchTopicOffsets(REMOTE);
          return ends.reduce((s, p) => s + Number(p.high), 0) === total;
        },
        { timeoutMs: 60_000 },
      );
    },
    async stateOf() {
      let state: healthV1.RegionState | undefined;
      await waitFor("GetRegionState orders", async () => {
        state = (await client.getRegionState({ flowGroup: "orders" })).state;
        return state !== undefined;
      });
      return state!;
    },
    stop: cleanUp,
  };
}

async function createPausedReverseFlow(admin: GrpcClient<typeof CoordinatorService>) {
  await admin.createFlow({
    flow: {
      name: REVERSE_FLOW_NAME,
      sourceCluster: "eu-west",
      targetCluster: "us-east",
      topics: { include: [TOPIC] },
      syncGroupOffsets: false,
    },
  });
  await admin.pauseFlow({
    name: REVERSE_FLOW_NAME,
    actor: "test",
    reason: "passive until a transition",
  });
}

async function consumeAsGroup(
  kafka: Kafka,
  topic: string | readonly string[],
  enough: (seen: number[]) => boolean,
  timeoutMs: number,
): Promise<number[]> {
  const seen: number[] = [];
  const positions = new Map<string, { topic: string; partition: number; offset: string }>();
  const consumer = kafka.consumer({ groupId: GROUP });
  await consumer.connect();
  await consumer.subscribe({
    topics: typeof topic === "string" ? [topic] : [...topic],
    fromBeginning: true,
  });
  let done = false;
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      if (done) return;
      seen.push(Number(message.value!.toString()));
      positions.set(`${topic}/${partition}`, {
        topic,
        partition,
        offset: String(BigInt(message.offset) + 1n),
      });
      if (enough(seen)) done = true;
    },
  });
  try {
    await waitFor(`${GROUP} consumed enough of ${String(topic)}`, () => done, { timeoutMs });
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${seen.length} records read`);
  } finally {
    await consumer.commitOffsets([...positions.values()]);
    await consumer.disconnect();
  }
  return seen;
}

/** Duplicates and misses of the sequence 0..total-1 in what was read. */
export function sequenceCheck(read: readonly number[], total: number) {
  const counts = new Map<number, number>();
  for (const seq of read) counts.set(seq, (counts.get(seq) ?? 0) + 1);
  let misses = 0;
  for (let seq = 0; seq < total; seq++) if (!counts.has(seq)) misses++;
  return { duplicates: read.length - counts.size, misses };
}

export const durationMs = (d: { seconds: bigint; nanos: number } | undefined) =>
  d === undefined ? 0 : Number(d.seconds) * 1000 + d.nanos / 1e6;
