import { createFlowCatalog } from "@geo/flow-catalog";
import { ReplicationHealthService } from "@geo/proto";
import { createRedisClient } from "@geo/redis";
import {
  type RunningService,
  redisProbe,
  type ServiceContext,
  serveService,
} from "@geo/service-runtime";
import { startFleetMetrics } from "./monitoring/fleet-metrics";
import { healthHandlers } from "./monitoring/health-handlers";
import { registerHealthMetrics } from "./monitoring/health-metrics";
import { HealthMonitor } from "./monitoring/health-monitor";
import { createRegionService } from "./region/region-service";

/**
 * The health/failover service. It owns the region state in Redis, so its own health follows
 * Redis; the clusters it watches are what it reports on, and one of them being down is an answer
 * (reachable: false), not a reason for the service to stop serving. Monitoring (probes, lag,
 * heartbeats, /metrics, WatchHealth) runs in the background from start to stop; requests read its
 * last rounds. Region state and transitions
 * (switchover, failover, failback, drills) are served from region/.
 */
export async function startHealth(context: ServiceContext): Promise<RunningService> {
  const { config, logger } = context;
  const redis = createRedisClient(config.redis, { logger, name: "health" });
  let heartbeatMetrics: ReturnType<typeof registerHealthMetrics> | undefined;
  const stopFleet = new AbortController();
  let fleet: Promise<void> | undefined;
  // Flows from the coordinator (file and admin API), starting from the file's until it answers.
  const catalog = createFlowCatalog({
    config,
    logger: logger.child({ component: "flow-catalog" }),
  });
  const monitor = new HealthMonitor({
    config,
    flows: catalog,
    logger: logger.child({ component: "monitor" }),
    onHeartbeat: (flow, latencyMs) => heartbeatMetrics?.heartbeat(flow, latencyMs),
  });
  // Transitions count failed probes from the monitor's probe loop instead of probing again.
  const region = createRegionService({
    config,
    logger,
    redis,
    probes: {
      probe: async (cluster) => {
        const snapshot = await monitor.probeNow(cluster);
        if (snapshot === undefined)
          return { reachable: false, error: `unknown cluster "${cluster}"` };
        return snapshot.reachable
          ? { reachable: true }
          : { reachable: false, error: snapshot.health.error ?? "unreachable" };
      },
      consecutiveFailures: (cluster) => monitor.consecutiveFailures(cluster),
      unreachableSinceMs: (cluster) => monitor.unreachableSinceMs(cluster),
    },
  });
  const served = await serveService({
    context,
    listen: config.services.health.listen,
    metricsListen: config.services.health.metricsListen,
    probes: [redisProbe(redis)],
    register: (server, metrics) => {
      heartbeatMetrics = registerHealthMetrics(metrics, monitor, config.monitoring.lagSeries);
      fleet = startFleetMetrics({
        config,
        redis,
        registry: metrics,
        logger,
        signal: stopFleet.signal,
        regions: () => [
          ...new Set(monitor.flows.map((f) => config.clusters[f.target]?.region ?? f.target)),
        ],
      });
      server.addService(ReplicationHealthService, {
        ...healthHandlers(monitor),
        ...region.handlers,
      });
    },
    close: async () => {
      stopFleet.abort();
      await region.close();
      await Promise.all([monitor.close(), fleet]);
      await catalog.close();
      redis.disconnect();
    },
  });
  monitor.start();
  return served;
}
