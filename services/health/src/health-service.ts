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
import { PassiveGuard, passiveFlowReport } from "./monitoring/passive-guard";
import { registerPassiveGuardMetrics } from "./monitoring/passive-guard-metrics";
import { createRegionView } from "./monitoring/region-view";
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
    // A failover out of a lost region reports the lag measured before it was lost.
    lastKnownLag: {
      lastKnownLag: (flow) =>
        monitor.lastKnownLag(flow)?.map((p) => ({
          topic: p.sourceTopic,
          partition: p.partition,
          records: p.records,
          endOffset: p.endOffset,
          nextSourceOffset: p.nextSourceOffset,
          measuredAtMs: p.measuredAtMs,
        })),
    },
  });
  // Foreign writes and split brain in the passive region of every flow group.
  let guardMetrics: ReturnType<typeof registerPassiveGuardMetrics> | undefined;
  const regionView = createRegionView(region.store, config.flowGroups, logger);
  const guard = new PassiveGuard({
    monitor,
    regions: regionView,
    logger: logger.child({ component: "passive-guard" }),
    intervalMs: config.monitoring.probeIntervalMs,
    foreignGraceMs: config.monitoring.foreignWriteGraceMs,
    ...(config.monitoring.keyConflictWindowMs > 0
      ? {
          keyConflicts: {
            windowMs: config.monitoring.keyConflictWindowMs,
            maxKeys: config.monitoring.keyConflictMaxKeys,
            onConflict: (pair, conflict) => guardMetrics?.conflict(pair, conflict),
          },
        }
      : {}),
    onWatched: (report) => guardMetrics?.watched(report),
    onForeign: (report, added) => {
      guardMetrics?.foreign(report, added);
      logger.warn(
        {
          flow: report.flow,
          topic: report.topic,
          partition: report.partition,
          records: String(added),
        },
        "records written into a passive region's remote topic by a non-agent",
      );
    },
  });
  const served = await serveService({
    context,
    listen: config.services.health.listen,
    metricsListen: config.services.health.metricsListen,
    probes: [redisProbe(redis)],
    register: (server, metrics) => {
      heartbeatMetrics = registerHealthMetrics(metrics, monitor, config.monitoring.lagSeries);
      guardMetrics = registerPassiveGuardMetrics(
        metrics,
        () => guard.splitBrain,
        () => guard.activeActive,
      );
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
        ...healthHandlers(monitor, (name) => {
          const flow = monitor.flows.find((f) => f.name === name);
          return flow === undefined ? undefined : passiveFlowReport(guard, flow);
        }),
        ...region.handlers,
      });
    },
    close: async () => {
      stopFleet.abort();
      regionView.close();
      await guard.close(); // before the monitor: it reads through the monitor's clients
      await region.close();
      await Promise.all([monitor.close(), fleet]);
      await catalog.close();
      redis.disconnect();
    },
  });
  monitor.start();
  guard.start();
  return served;
}
