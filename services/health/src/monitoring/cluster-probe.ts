import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Admin, ClusterAdmin } from "@geo/kafka";
import type { healthV1 } from "@geo/proto";

export type ClusterHealthView = MessageInitShape<typeof healthV1.ClusterHealthSchema>;

/** What one probe saw: the health operators read, and the topics the lag rounds need. */
export interface ClusterSnapshot {
  readonly health: ClusterHealthView;
  readonly reachable: boolean;
  /** Topic -> partition count; empty when unreachable. */
  readonly topics: ReadonlyMap<string, number>;
  /** Date.now() when the probe started. */
  readonly time: number;
}

/** Partition metadata as kafkajs returns it, reduced to what the counts need. */
export interface PartitionReplicas {
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

export interface ReplicaCounts {
  underReplicated: number;
  offline: number;
  underMinIsr: number;
}

/**
 * Under-replicated: fewer in-sync replicas than replicas. Offline: no leader. Under min ISR:
 * fewer in-sync replicas than the topic's `min.insync.replicas` (acks=all writes fail there).
 */
export function countReplicaProblems(
  topics: readonly { name: string; partitions: readonly PartitionReplicas[] }[],
  minIsr: ReadonlyMap<string, number>,
): ReplicaCounts {
  const counts = { underReplicated: 0, offline: 0, underMinIsr: 0 };
  for (const topic of topics) {
    const min = minIsr.get(topic.name) ?? 1;
    for (const partition of topic.partitions) {
      if (partition.leader < 0) counts.offline += 1;
      if (partition.isr.length < partition.replicas.length) counts.underReplicated += 1;
      if (partition.isr.length < min) counts.underMinIsr += 1;
    }
  }
  return counts;
}

/**
 * Reads `min.insync.replicas` of topics whose value is not cached yet, in one DescribeConfigs.
 * Topic configs rarely change; the prober drops the cache now and then to pick up changes.
 */
async function minIsrOf(
  admin: Admin,
  names: readonly string[],
  cache: Map<string, number>,
): Promise<Map<string, number>> {
  const missing = names.filter((name) => !cache.has(name));
  if (missing.length > 0) {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: missing.map((name) => ({
        type: 2, // ConfigResourceTypes.TOPIC
        name,
        configNames: ["min.insync.replicas"],
      })),
    });
    for (const resource of resources) {
      const entry = resource.configEntries.find((e) => e.configName === "min.insync.replicas");
      cache.set(resource.resourceName, Number(entry?.configValue ?? 1));
    }
  }
  return cache;
}

/**
 * Probes one cluster the way an operator would look at it: can we reach it, how many brokers
 * answer, who is the controller, and how many partitions are under-replicated, offline or under
 * their min.insync.replicas. An unreachable cluster is a result, not an error: the answer says
 * so with the reason.
 */
export async function probeCluster(
  cluster: ClusterAdmin,
  options: { timeoutMs?: number; minIsrCache?: Map<string, number> } = {},
): Promise<ClusterSnapshot> {
  const started = performance.now();
  const time = Date.now();
  const checkTime = timestampFromDate(new Date(time));
  const elapsed = () => durationFromMs(Math.round(performance.now() - started));
  try {
    return await cluster.use(async (admin) => {
      const description = await admin.describeCluster();
      const { topics } = await admin.fetchTopicMetadata();
      const minIsr = await minIsrOf(
        admin,
        topics.map((t) => t.name),
        options.minIsrCache ?? new Map(),
      );
      const counts = countReplicaProblems(topics, minIsr);
      const health: ClusterHealthView = {
        cluster: cluster.alias,
        reachable: true,
        brokerCount: description.brokers.length,
        controllerId: description.controller ?? -1,
        underReplicatedPartitionCount: counts.underReplicated,
        offlinePartitionCount: counts.offline,
        minIsrViolationCount: counts.underMinIsr,
        checkTime,
        probeDuration: elapsed(),
      };
      const partitionCounts = new Map(topics.map((t) => [t.name, t.partitions.length] as const));
      return { health, reachable: true, topics: partitionCounts, time };
    }, options.timeoutMs ?? 5000);
  } catch (error) {
    const health: ClusterHealthView = {
      cluster: cluster.alias,
      reachable: false,
      controllerId: -1,
      checkTime,
      probeDuration: elapsed(),
      error: (error as Error).message,
    };
    return { health, reachable: false, topics: new Map(), time };
  }
}
