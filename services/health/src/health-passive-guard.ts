import type { GeoConfig } from "@geo/config";
import type { Logger } from "@geo/logging";
import type { LateParts } from "./health-parts";
import type { HealthMonitor } from "./monitoring/health-monitor";
import { PassiveGuard } from "./monitoring/passive-guard";
import type { RegionView } from "./monitoring/region-view";

/** Watches for foreign writes and split brain in the passive region of every flow group. */
export function createPassiveGuard(
  config: GeoConfig,
  logger: Logger,
  monitor: HealthMonitor,
  regionView: RegionView,
  late: LateParts,
): PassiveGuard {
  return new PassiveGuard({
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
            onConflict: (pair, conflict) => late.guardMetrics?.conflict(pair, conflict),
          },
        }
      : {}),
    onWatched: (report) => late.guardMetrics?.watched(report),
    onForeign: (report, added) => {
      late.guardMetrics?.foreign(report, added);
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
}
