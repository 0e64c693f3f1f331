import type { GeoConfig } from "@geo/config";
import type { GrpcServer } from "@geo/grpc";
import type { Logger } from "@geo/logging";
import type { Registry } from "@geo/metrics";
import { ReplicationHealthService } from "@geo/proto";
import type { Redis } from "@geo/redis";
import type { LateParts } from "./health-parts";
import { startFleetMetrics } from "./monitoring/fleet-metrics";
import { healthHandlers } from "./monitoring/health-handlers";
import { registerHealthMetrics } from "./monitoring/health-metrics";
import type { HealthMonitor } from "./monitoring/health-monitor";
import { type PassiveGuard, passiveFlowReport } from "./monitoring/passive-guard";
import { registerPassiveGuardMetrics } from "./monitoring/passive-guard-metrics";
import { registerPassiveProtectionMetrics } from "./monitoring/passive-protection-metrics";
import type { RegionService } from "./region/region-service";

export interface HealthServersOptions {
  config: GeoConfig;
  logger: Logger;
  redis: Redis;
  monitor: HealthMonitor;
  guard: PassiveGuard;
  region: RegionService;
  /** Receives the metrics and the fleet metrics' loop made here. */
  late: LateParts;
  /** Ends the fleet metrics' loop. */
  stopFleet: AbortSignal;
}

/** Registers the service's metrics, starts the fleet metrics and serves health and region requests. */
export function registerHealthServers(
  server: GrpcServer,
  metrics: Registry,
  options: HealthServersOptions,
): void {
  const { config, monitor, guard, late } = options;
  late.heartbeatMetrics = registerHealthMetrics(metrics, monitor, config.monitoring.lagSeries);
  late.guardMetrics = registerPassiveGuardMetrics(
    metrics,
    () => guard.splitBrain,
    () => guard.activeActive,
  );
  late.protectionMetrics = registerPassiveProtectionMetrics(
    metrics,
    () => options.region.protection,
  );
  late.fleet = startFleetMetrics({
    config,
    redis: options.redis,
    registry: metrics,
    logger: options.logger,
    signal: options.stopFleet,
    regions: () => [
      ...new Set(monitor.flows.map((f) => config.clusters[f.target]?.region ?? f.target)),
    ],
  });
  server.addService(ReplicationHealthService, {
    ...healthHandlers(monitor, (name) => {
      const flow = monitor.flows.find((f) => f.name === name);
      return flow === undefined ? undefined : passiveFlowReport(guard, flow);
    }),
    ...options.region.handlers,
  });
}
