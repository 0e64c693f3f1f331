import type { GeoConfig } from "@geo/config";
import type { Logger } from "@geo/logging";
import type { Redis } from "@geo/redis";
import type { LateParts } from "./health-parts";
import type { HealthMonitor } from "./monitoring/health-monitor";
import { createRegionService, type RegionService } from "./region/region-service";

/**
 * The region state and its transitions. They count failed probes from the monitor's probe loop
 * instead of probing again. The protection keeper's events reach its metrics through `late`.
 */
export function createMonitoredRegionService(
  config: GeoConfig,
  logger: Logger,
  redis: Redis,
  monitor: HealthMonitor,
  late: LateParts,
): RegionService {
  return createRegionService({
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
    protectionEvents: {
      onChange: (change) => late.protectionMetrics?.changed(change),
      onPassFailed: (flowGroup) => late.protectionMetrics?.passFailed(flowGroup),
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
}
