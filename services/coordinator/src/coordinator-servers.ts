import type { GeoConfig } from "@geo/config";
import type { GrpcServer } from "@geo/grpc";
import type { Logger } from "@geo/logging";
import type { Registry } from "@geo/metrics";
import { AgentSessionService, CoordinatorService } from "@geo/proto";
import { grpcClientOptions } from "@geo/service-runtime";
import { createAdminApi } from "./admin-api";
import type { AgentSessions } from "./agent-sessions";
import { createAssignmentLoop, type MinEpochOf } from "./assignment/assignment-loop";
import { createLeaderForwarder } from "./assignment/leader-forwarding";
import type { CoordinatorConnections } from "./coordinator-connections";
import type { LateParts } from "./coordinator-parts";
import { createDiscovery } from "./discovery";
import type { FlowRegistry } from "./flows/flow-registry";

export interface CoordinatorServersOptions {
  config: GeoConfig;
  configPath: string;
  logger: Logger;
  coordinatorId: string;
  connections: CoordinatorConnections;
  sessions: AgentSessions;
  registry: FlowRegistry;
  minEpochOf: MinEpochOf;
  /** Receives the discovery, loop and forwarder made here. */
  late: LateParts;
}

/**
 * Makes the parts that need the server's metrics (discovery, the assignment loop) and the leader
 * forwarder, and serves the admin API and the agents' sessions with them.
 */
export function registerCoordinatorServers(
  server: GrpcServer,
  metrics: Registry,
  options: CoordinatorServersOptions,
): void {
  const { config, logger, registry, sessions, late } = options;
  const found = createDiscovery({
    config,
    logger,
    clusterAdmins: options.connections.discoveryAdmins,
    metrics,
    flows: () => registry.flows(),
  });
  late.discovery = found;
  const assignment = createAssignmentLoop({
    config,
    logger,
    store: options.connections.store,
    directory: sessions,
    units: () => found.units(),
    flows: () => registry.flows(),
    flowVersion: (name) => {
      const entry = registry.get(name);
      return entry?.owner === "api" ? entry.api.version : 1n;
    },
    minEpochOf: options.minEpochOf,
  });
  late.loop = assignment;
  found.onChange(() => assignment.kick("discovery"));
  const forwarder = createLeaderForwarder({
    clientOptions: (address) => grpcClientOptions(config, address),
    leadership: {
      id: options.coordinatorId,
      isLeader: () => late.leadership?.isLeader() ?? false,
      leader: async () => late.leadership?.leader(),
    },
    logger,
  });
  late.forwarder = forwarder;
  server.addService(
    CoordinatorService,
    createAdminApi({
      config,
      configPath: options.configPath,
      registry,
      sessions,
      discovery: found,
      assignment,
      forwarder,
    }),
  );
  server.addService(AgentSessionService, { connect: sessions.connect });
}
