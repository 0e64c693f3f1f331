import type { FlowCatalog } from "@geo/flow-catalog";
import type { Redis } from "@geo/redis";
import type { LateParts } from "./health-parts";
import type { HealthMonitor } from "./monitoring/health-monitor";
import type { PassiveGuard } from "./monitoring/passive-guard";
import type { createRegionView } from "./monitoring/region-view";
import type { RegionService } from "./region/region-service";

/** Stops the service's parts, those that read through others first, Redis last. */
export async function closeHealth(parts: {
  stopFleet: AbortController;
  regionView: ReturnType<typeof createRegionView>;
  guard: PassiveGuard;
  region: RegionService;
  monitor: HealthMonitor;
  late: LateParts;
  catalog: FlowCatalog;
  redis: Redis;
}): Promise<void> {
  parts.stopFleet.abort();
  parts.regionView.close();
  await parts.guard.close(); // before the monitor: it reads through the monitor's clients
  await parts.region.close();
  await Promise.all([parts.monitor.close(), parts.late.fleet]);
  await parts.catalog.close();
  parts.redis.disconnect();
}
