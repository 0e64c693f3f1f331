import { type ClusterConfig, GEO_TOPICS } from "@geo/config";
import { createKafkaClient } from "@geo/kafka";
import type { Logger } from "@geo/logging";

/**
 * Configs of the progress and offset-map topics. Compacted: readers want the last record per
 * key. Compaction never touches the active segment, and agents load these topics whole when
 * they start units, so segments roll hourly (or at 64 MiB) instead of Kafka's 7 days / 1 GiB:
 * what a load scans stays close to the live key set.
 */
export const PROGRESS_TOPIC_CONFIGS: Readonly<Record<string, string>> = Object.freeze({
  "cleanup.policy": "compact",
  "segment.ms": String(60 * 60 * 1000),
  "segment.bytes": String(64 * 1024 * 1024),
});

export interface EnsureTopicsOptions {
  clientId?: string;
  logger: Logger;
  topics?: readonly string[];
  timeoutMs?: number;
}

/**
 * Creates `__geo.progress` and `__geo.offset-map` in `cluster` when missing (one partition,
 * compacted, replication factor min(3, brokers), min.insync.replicas=2 from three replicas). The
 * coordinator normally creates them first; agents run without one in tests and when it is down.
 * Existing topics are left as they are. Returns the topics it created.
 */
export async function ensureProgressTopics(
  cluster: ClusterConfig,
  options: EnsureTopicsOptions,
): Promise<string[]> {
  const topics = options.topics ?? [GEO_TOPICS.progress, GEO_TOPICS.offsetMap];
  const kafka = createKafkaClient(cluster, {
    clientId: options.clientId ?? "geo-progress",
    logger: options.logger.child({}, { level: "fatal" }),
    connectionTimeoutMs: 3000,
    requestTimeoutMs: options.timeoutMs ?? 10_000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length === 0) return [];
    const { brokers } = await admin.describeCluster();
    const replicationFactor = Math.min(3, brokers.length);
    const configEntries = Object.entries(PROGRESS_TOPIC_CONFIGS).map(([name, value]) => ({
      name,
      value,
    }));
    if (replicationFactor >= 3) configEntries.push({ name: "min.insync.replicas", value: "2" });
    await admin.createTopics({
      topics: missing.map((topic) => ({
        topic,
        numPartitions: 1,
        replicationFactor,
        configEntries,
      })),
      waitForLeaders: true,
    });
    options.logger.info({ cluster: cluster.alias, topics: missing }, "created internal topics");
    return missing;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
