import { Code, GeoError, requireNonEmpty } from "@geo/grpc";
import { createClusterAdmin } from "@geo/kafka";
import { ReplicationHealthService } from "@geo/proto";
import { createRedisClient } from "@geo/redis";
import {
  type RunningService,
  redisProbe,
  type ServiceContext,
  serveService,
} from "@geo/service-runtime";
import { checkClusterHealth } from "./cluster-health";
import { createRegionService } from "./region/region-service";

/**
 * The health/failover service. It owns the region state in Redis, so its own health follows
 * Redis; the clusters it watches are what it reports on, and one of them being down is an answer
 * (reachable: false), not a reason for the service to stop serving. Cluster health is real now;
 * flow health, region state and switchover/failover arrive with the health/failover work and
 * answer UNIMPLEMENTED until then.
 */
export async function startHealth(context: ServiceContext): Promise<RunningService> {
  const { config, logger } = context;
  const redis = createRedisClient(config.redis, { logger, name: "health" });
  const clusters = new Map(
    Object.values(config.clusters)
      .sort((a, b) => a.alias.localeCompare(b.alias))
      .map((cluster) => [
        cluster.alias,
        createClusterAdmin(cluster, { clientId: "geo-health", logger }),
      ]),
  );
  const region = createRegionService({ config, logger, redis });
  return serveService({
    context,
    listen: config.services.health.listen,
    metricsListen: config.services.health.metricsListen,
    probes: [redisProbe(redis)],
    register: (server) =>
      server.addService(ReplicationHealthService, {
        ...region.handlers,
        listClusterHealth: async () => ({
          clusters: await Promise.all([...clusters.values()].map((c) => checkClusterHealth(c))),
        }),
        getClusterHealth: async (request) => {
          requireNonEmpty(request.cluster, "cluster");
          const cluster = clusters.get(request.cluster);
          if (cluster === undefined) {
            throw new GeoError(
              Code.NOT_FOUND,
              `no cluster "${request.cluster}"; known clusters: ${[...clusters.keys()].join(", ")}`,
            );
          }
          return { health: await checkClusterHealth(cluster) };
        },
      }),
    close: async () => {
      await region.close();
      await Promise.all([...clusters.values()].map((cluster) => cluster.close()));
      redis.disconnect();
    },
  });
}
