import { hostname } from "node:os";
import {
  kafkaClusterProbe,
  type RunningService,
  reachableAddress,
  redisProbe,
  type ServiceContext,
  serveService,
} from "@geo/service-runtime";
import type { MinEpochOf } from "./assignment/assignment-loop";
import { createRecordedEpochs } from "./assignment/recorded-epochs";
import { openConnections } from "./coordinator-connections";
import { createGatedSessions, startLeadership } from "./coordinator-leadership";
import type { LateParts } from "./coordinator-parts";
import { registerCoordinatorServers } from "./coordinator-servers";
import { closeCoordinator } from "./coordinator-shutdown";
import { createKafkaFlowLog, type FlowLog } from "./flows/flow-log";
import { createFlowRegistry } from "./flows/flow-registry";
import { refusedFlowChange } from "./refused-flow-change";

export interface CoordinatorOptions {
  /**
   * Highest epoch in each unit's progress records in the target cluster, so that grants after
   * Redis came back empty start above it. Default: read from the targets' progress topics.
   */
  minEpochOf?: MinEpochOf;
  /** Where API-owned flows persist. Default: the flowStore topic in Kafka. */
  flowLog?: FlowLog;
}

/**
 * The hub: serves the admin API and the agents' sessions. It depends on Redis (the lease
 * authority) and on every configured cluster (it discovers their topics), so its health follows
 * all of them. Several coordinators may run: a Redis leader lease picks the one that assigns
 * units and holds the agents' sessions; the others serve reads (forwarding status reads to the
 * leader) and take over when its lease ends.
 */
export async function startCoordinator(
  context: ServiceContext,
  options: CoordinatorOptions = {},
): Promise<RunningService> {
  const { config, logger } = context;
  const closing = new AbortController();
  const coordinatorId = `${hostname()}-${process.pid}`;
  const connections = openConnections(config, logger);
  const late: LateParts = {};
  const sessions = createGatedSessions(config, logger, coordinatorId, late);
  const configPath = context.args.configPath ?? process.env.GEO_CONFIG ?? "";
  const registry = createFlowRegistry({
    config,
    configPath,
    log: options.flowLog ?? createKafkaFlowLog(config, logger),
    logger,
    onChange: () => {
      // Paused or changed settings need new snapshots even when no unit comes or goes.
      late.loop?.kick("flow changed");
      void late.discovery?.refresh().catch(() => undefined);
    },
  });
  const recordedEpochs = createRecordedEpochs(config, logger, () => registry.flows());
  const served = await serveService({
    context,
    listen: config.services.coordinator.listen,
    metricsListen: config.services.coordinator.metricsListen,
    probes: [
      redisProbe(connections.redis),
      ...connections.clusters.map((cluster) => kafkaClusterProbe(cluster)),
    ],
    onAuthorizationDecision: (decision) => {
      const flow = refusedFlowChange(decision);
      if (flow !== undefined) void registry.recordRefusal(flow, decision.caller, decision.reason!);
    },
    register: (server, metrics) =>
      registerCoordinatorServers(server, metrics, {
        config,
        configPath,
        logger,
        coordinatorId,
        connections,
        sessions,
        registry,
        minEpochOf: options.minEpochOf ?? recordedEpochs.minEpochOf,
        late,
      }),
    close: () => closeCoordinator({ closing, late, recordedEpochs, registry, connections }),
  });
  startLeadership({
    config,
    logger,
    electionRedis: connections.electionRedis,
    coordinatorId,
    address: reachableAddress(served.endpoints.grpc),
    late,
    registry,
    sessions,
    closing: closing.signal,
  });
  return served;
}
