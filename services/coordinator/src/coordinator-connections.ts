import type { GeoConfig } from "@geo/config";
import { type ClusterAdmin, createClusterAdmin } from "@geo/kafka";
import { createLeaseStore, type LeaseStore } from "@geo/leases";
import type { Logger } from "@geo/logging";
import { createRedisClient, type Redis } from "@geo/redis";

/** The coordinator's Redis clients and cluster admins, made before anything that uses them. */
export interface CoordinatorConnections {
  readonly redis: Redis;
  /** The leader lease's connection. */
  readonly electionRedis: Redis;
  readonly store: LeaseStore;
  /** The admins the health probes use. */
  readonly clusters: ClusterAdmin[];
  /** Discovery's admins, by cluster alias. */
  readonly discoveryAdmins: Map<string, ClusterAdmin>;
}

export function openConnections(config: GeoConfig, logger: Logger): CoordinatorConnections {
  const redis = createRedisClient(config.redis, { logger, name: "coordinator" });
  // The leader lease has a connection of its own: a burst of grants must not delay its renewals.
  const electionRedis = createRedisClient(config.redis, { logger, name: "coordinator-leader" });
  const store = createLeaseStore({ redis, keyPrefix: config.redis.keyPrefix });
  const clusters = Object.values(config.clusters).map((cluster) =>
    createClusterAdmin(cluster, { clientId: "geo-coordinator", logger }),
  );
  // Discovery has admins of its own: its topic changes and slow rounds must not disturb the
  // health probes' connections.
  const discoveryAdmins = new Map(
    Object.values(config.clusters).map((cluster) => [
      cluster.alias,
      createClusterAdmin(cluster, { clientId: "geo-coordinator-discovery", logger }),
    ]),
  );
  return { redis, electionRedis, store, clusters, discoveryAdmins };
}
