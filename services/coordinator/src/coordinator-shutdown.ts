import type { RecordedEpochs } from "./assignment/recorded-epochs";
import type { CoordinatorConnections } from "./coordinator-connections";
import type { LateParts } from "./coordinator-parts";
import type { FlowRegistry } from "./flows/flow-registry";

/** Stops the coordinator's parts, the leader lease first, the connections last. */
export async function closeCoordinator(parts: {
  closing: AbortController;
  late: LateParts;
  recordedEpochs: RecordedEpochs;
  registry: FlowRegistry;
  connections: CoordinatorConnections;
}): Promise<void> {
  const { late, connections } = parts;
  parts.closing.abort();
  // Releasing the leader lease lets a standby take over at once instead of after the TTL.
  await late.leadership?.stop();
  await late.loop?.stop();
  await Promise.all([parts.recordedEpochs.close(), parts.registry.close()]);
  late.forwarder?.close();
  // Closing the admins while the round stops makes its pending requests fail at once.
  await Promise.all([
    late.discovery?.stop(),
    ...[...connections.clusters, ...connections.discoveryAdmins.values()].map((cluster) =>
      cluster.close(),
    ),
  ]);
  connections.redis.disconnect();
  connections.electionRedis.disconnect();
}
