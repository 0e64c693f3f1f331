import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ClusterAdmin } from "@geo/kafka";
import type { healthV1 } from "@geo/proto";

export type ClusterHealthView = MessageInitShape<typeof healthV1.ClusterHealthSchema>;

/**
 * Probes one cluster the way an operator would look at it: can we reach it, how many brokers
 * answer, who is the controller, and how many partitions are under-replicated (fewer in-sync
 * replicas than replicas) or offline (no leader). An unreachable cluster is a result, not an
 * error: the answer says so with the reason.
 */
export async function checkClusterHealth(
  cluster: ClusterAdmin,
  timeoutMs = 5000,
): Promise<ClusterHealthView> {
  const started = performance.now();
  const checkTime = timestampFromDate(new Date());
  try {
    return await cluster.use(async (admin) => {
      const description = await admin.describeCluster();
      const { topics } = await admin.fetchTopicMetadata();
      let underReplicated = 0;
      let offline = 0;
      for (const topic of topics) {
        for (const partition of topic.partitions) {
          if (partition.leader < 0) offline += 1;
          if (partition.isr.length < partition.replicas.length) underReplicated += 1;
        }
      }
      return {
        cluster: cluster.alias,
        reachable: true,
        brokerCount: description.brokers.length,
        controllerId: description.controller ?? -1,
        underReplicatedPartitionCount: underReplicated,
        offlinePartitionCount: offline,
        checkTime,
        probeDuration: durationFromMs(Math.round(performance.now() - started)),
      };
    }, timeoutMs);
  } catch (error) {
    return {
      cluster: cluster.alias,
      reachable: false,
      controllerId: -1,
      checkTime,
      probeDuration: durationFromMs(Math.round(performance.now() - started)),
      error: (error as Error).message,
    };
  }
}
