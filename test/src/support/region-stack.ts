// What the region tests share: two Kafka clusters (us-east, eu-west) and a Redis, a config file
// with the caller's flow groups and services, and a second region store on the same Redis (a
// "peer" health service, as far as the service under test can tell) to move the active region.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GeoConfig, loadConfig } from "@geo/config";
import {
  type AuthorizerOptions,
  type KafkaCluster,
  type RedisServer,
  startKafkaClusters,
  startRedis,
} from "@geo/local-runtime";
import type { Logger } from "@geo/logging";
import { createRedisClient, type Redis } from "@geo/redis";
import {
  createRegionStore,
  type RegionLog,
  type RegionPhase,
  type RegionStore,
  regionGroupsFromConfig,
} from "@geo/region-state";
import type { Admin } from "kafkajs";
import { createTopicsAndWaitForLeaders } from "./create-topics";
import { waitFor } from "./wait-for";

export interface RegionStack {
  readonly clusters: readonly KafkaCluster[];
  readonly redisServer: RedisServer;
  readonly redis: Redis;
  readonly configPath: string;
  readonly config: GeoConfig;
  /** What the services need in their environment for `configPath` (the Kafka password). */
  readonly env: Readonly<Record<string, string>>;
  /** Opens the peer store on `log` (the real region topics, or memory). */
  openPeer(log: RegionLog): Promise<RegionStore>;
  stop(): Promise<void>;
}

/** `rest` is YAML after `clusters:` and `redis:` (flowGroups, services, logging...). */
export async function startRegionStack(options: {
  name: string;
  keyPrefix: string;
  logger: Logger;
  rest: string;
  /**
   * Both clusters with KRaft's StandardAuthorizer; the config (so every service and agent)
   * connects through the SASL/PLAIN listener as `servicesUser`, which must be a super user.
   */
  authorizer?: AuthorizerOptions & { readonly servicesUser: string };
}): Promise<RegionStack> {
  const authorizer = options.authorizer;
  const [clusters, redisServer] = await Promise.all([
    // Generous: with other suites running beside, a broker can take minutes to start.
    startKafkaClusters([{ name: `${options.name}-us-east` }, { name: `${options.name}-eu-west` }], {
      startTimeoutMs: 180_000,
      ...(authorizer === undefined ? {} : { authorizer }),
    }),
    startRedis({ startTimeoutMs: 60_000 }),
  ]);
  const dir = mkdtempSync(join(tmpdir(), `geo-${options.name}-`));
  const configPath = join(dir, "geo.yaml");
  const env: Record<string, string> =
    authorizer === undefined
      ? {}
      : { GEO_TEST_KAFKA_PASSWORD: authorizer.users[authorizer.servicesUser]! };
  const clusterYaml = (cluster: KafkaCluster) =>
    authorizer === undefined
      ? `{ bootstrapServers: [${cluster.bootstrapServers.join(", ")}] }`
      : `{ bootstrapServers: [${cluster.secureBootstrapServers.join(", ")}], sasl: { mechanism: plain, username: ${authorizer.servicesUser}, password: "\${GEO_TEST_KAFKA_PASSWORD}" } }`;
  writeFileSync(
    configPath,
    `clusters:
  us-east: ${clusterYaml(clusters[0]!)}
  eu-west: ${clusterYaml(clusters[1]!)}
redis: { url: "${redisServer.url}", keyPrefix: "${options.keyPrefix}" }
${options.rest}`,
  );
  const config = loadConfig({ path: configPath, env: { ...process.env, ...env } });
  const redis = createRedisClient(config.redis, {
    logger: options.logger,
    name: `${options.name}-test`,
  });
  const peers: RegionStore[] = [];
  return {
    clusters,
    redisServer,
    redis,
    configPath,
    config,
    env,
    async openPeer(log) {
      const peer = createRegionStore({
        redis,
        keyPrefix: options.keyPrefix,
        groups: regionGroupsFromConfig(config),
        log,
        logger: options.logger,
      });
      peers.push(peer);
      peer.start();
      await peer.whenReady();
      return peer;
    },
    async stop() {
      await Promise.all(peers.map((peer) => peer.close()));
      redis.disconnect();
      await Promise.all([...clusters.map((c) => c.stop()), redisServer.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A transition as the orchestrator records it, made by the peer: lock (the group drains),
 * `whileLocked`, then flip to `to` (or end without flipping when `flip` is false).
 */
export async function movePeer(
  peer: RegionStore,
  flowGroup: string,
  to: string,
  whileLocked: () => Promise<void> = async () => {},
  phase: RegionPhase = "switching-over",
) {
  const current = await peer.get(flowGroup);
  const locked = await peer.begin(
    {
      flowGroup,
      kind: "switchover",
      toRegion: to,
      expectedEpoch: current.epoch,
      actor: "peer",
      reason: "test",
    },
    phase,
  );
  await whileLocked();
  return peer.finish(flowGroup, locked.transition!.id, {
    outcome: "succeeded",
    flip: true,
    phase: "stable",
    rtoMs: 10,
    rpoRecords: 0n,
  });
}

/**
 * Creates the topics (3 partitions) in every cluster and waits until each answers its offsets:
 * a loaded broker can answer UNKNOWN_TOPIC_OR_PARTITION for a moment after creating one.
 */
export async function createTopicsEverywhere(
  admins: readonly Admin[],
  topics: readonly string[],
): Promise<void> {
  for (const admin of admins) {
    await createTopicsAndWaitForLeaders(
      admin,
      topics.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
    );
    for (const topic of topics) {
      await waitFor(
        `topic ${topic} ready`,
        async () => (await admin.fetchTopicOffsets(topic)).length === 3,
        {
          timeoutMs: 60_000,
        },
      );
    }
  }
}
