// The four services in one process, for small set-ups and the local demo. This is the only place
// that imports services; each still gets its own gRPC server, health and metrics endpoint, exactly
// as when it runs alone.
import { startAgent } from "@geo/agent-service";
import type { GeoConfig } from "@geo/config";
import { startCoordinator } from "@geo/coordinator-service";
import { startHealth } from "@geo/health-service";
import { startOffsets } from "@geo/offsets-service";
import type { RunningService, ServiceContext, ServiceName } from "@geo/service-runtime";

/**
 * Regions that receive a file flow, or may receive an API flow of a flow group (both regions of
 * each group: a transition replicates the other way): each gets one agent, as in production.
 */
export function agentRegions(config: GeoConfig): string[] {
  const targets = [
    ...config.flows.map((flow) => flow.target),
    ...config.flowGroups.flatMap((group) => group.clusters),
  ];
  const regions = targets.map((cluster) => config.clusters[cluster]?.region);
  return [...new Set(regions.filter((region) => region !== undefined))].sort();
}

export async function startAllInOne(context: ServiceContext): Promise<RunningService> {
  const { config } = context;
  const part = (service: ServiceName, partConfig: GeoConfig = config): ServiceContext => ({
    ...context,
    service,
    config: partConfig,
    logger: context.logger.child({ component: service }),
  });
  const started: { name: string; running: RunningService }[] = [];
  const stopAll = async () => {
    // Agents first, so the hub sees their sessions end instead of breaking.
    for (const { running } of started.reverse()) await running.stop();
  };
  try {
    started.push({ name: "coordinator", running: await startCoordinator(part("coordinator")) });
    started.push({ name: "offsets", running: await startOffsets(part("offsets")) });
    started.push({ name: "health", running: await startHealth(part("health")) });
    for (const region of agentRegions(config)) {
      const agentConfig: GeoConfig = {
        ...config,
        services: {
          ...config.services,
          agent: {
            // Several agents share this process's host: each takes free ports.
            listen: "127.0.0.1:0",
            metricsListen: "127.0.0.1:0",
            region,
            id: `${config.services.agent.id ?? "all-in-one"}-${region}`,
          },
        },
      };
      started.push({
        name: `agent-${region}`,
        running: await startAgent(part("agent", agentConfig)),
      });
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  const endpoints: Record<string, string> = {};
  for (const { name, running } of started) {
    for (const [kind, address] of Object.entries(running.endpoints)) {
      endpoints[`${name}.${kind}`] = address;
    }
  }
  return { endpoints, stop: stopAll };
}
