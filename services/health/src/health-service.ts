import { createFlowCatalog } from "@geo/flow-catalog";
import { createRedisClient } from "@geo/redis";
import {
  type RunningService,
  redisProbe,
  type ServiceContext,
  serveService,
} from "@geo/service-runtime";
import type { LateParts } from "./health-parts";
import { createPassiveGuard } from "./health-passive-guard";
import { createMonitoredRegionService } from "./health-region";
import { registerHealthServers } from "./health-servers";
import { closeHealth } from "./health-shutdown";
import { HealthMonitor } from "./monitoring/health-monitor";
import { createRegionView } from "./monitoring/region-view";

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
  const late: LateParts = {};
  const stopFleet = new AbortController();
  // Flows from the coordinator (file and admin API), starting from the file's until it answers.
  const catalog = createFlowCatalog({
    config,
    logger: logger.child({ component: "flow-catalog" }),
  });
  const monitor = new HealthMonitor({
    config,
    flows: catalog,
    logger: logger.child({ component: "monitor" }),
    onHeartbeat: (flow, latencyMs) => late.heartbeatMetrics?.heartbeat(flow, latencyMs),
  });
  const region = createMonitoredRegionService(config, logger, redis, monitor, late);
  const regionView = createRegionView(region.store, config.flowGroups, logger);
  const guard = createPassiveGuard(config, logger, monitor, regionView, late);
  const served = await serveService({
    context,
    listen: config.services.health.listen,
    metricsListen: config.services.health.metricsListen,
    probes: [redisProbe(redis)],
    register: (server, metrics) =>
      registerHealthServers(server, metrics, {
        config,
        logger,
        redis,
        monitor,
        guard,
        region,
        late,
        stopFleet: stopFleet.signal,
      }),
    close: () =>
      closeHealth({ stopFleet, regionView, guard, region, monitor, late, catalog, redis }),
  });
  monitor.start();
  guard.start();
  return served;
}
