import { hostname } from "node:os";
import { Code, GeoError } from "@geo/grpc";
import { createClusterAdmin } from "@geo/kafka";
import { createLeaseStore } from "@geo/leases";
import { AgentSessionService, CoordinatorService } from "@geo/proto";
import { createRedisClient } from "@geo/redis";
import {
  kafkaClusterProbe,
  type RunningService,
  reachableAddress,
  redisProbe,
  type ServiceContext,
  serveService,
} from "@geo/service-runtime";
import { createAdminApi } from "./admin-api";
import { createAgentSessions } from "./agent-sessions";
import {
  type AssignmentLoop,
  createAssignmentLoop,
  type MinEpochOf,
} from "./assignment/assignment-loop";
import { createLeaderForwarder, type LeaderForwarder } from "./assignment/leader-forwarding";
import { createLeadership, type Leadership } from "./assignment/leadership";
import { createRecordedEpochs } from "./assignment/recorded-epochs";
import { createDiscovery, type Discovery } from "./discovery";

export interface CoordinatorOptions {
  /**
   * Highest epoch in each unit's progress records in the target cluster, so that grants after
   * Redis came back empty start above it. Default: read from the targets' progress topics.
   */
  minEpochOf?: MinEpochOf;
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
  const coordinatorId = `${hostname()}-${process.pid}`;
  const redis = createRedisClient(config.redis, { logger, name: "coordinator" });
  // The leader lease has a connection of its own: a burst of grants must not delay its renewals.
  const electionRedis = createRedisClient(config.redis, { logger, name: "coordinator-leader" });
  const store = createLeaseStore({ redis, keyPrefix: config.redis.keyPrefix });
  const clusters = Object.values(config.clusters).map((cluster) =>
    createClusterAdmin(cluster, { clientId: "geo-coordinator", logger }),
  );
  let leadership: Leadership | undefined;
  let loop: AssignmentLoop | undefined;
  let forwarder: LeaderForwarder | undefined;
  const sessions = createAgentSessions({
    config,
    coordinatorId,
    logger,
    gate: {
      isLeader: () => leadership?.isLeader() ?? false,
      waitForLeadership: (ms, signal) =>
        leadership?.waitForLeadership(ms, signal) ?? Promise.resolve(false),
      describeLeader: () => leadership?.describeLeader() ?? Promise.resolve("starting up"),
    },
    // Reports only feed loads and status: the next periodic round picks them up.
    onEvent: (event) => {
      if (event.kind !== "reports") loop?.kick(event.kind);
    },
  });
  // Discovery has admins of its own: its topic changes and slow rounds must not disturb the
  // health probes' connections.
  const discoveryAdmins = new Map(
    Object.values(config.clusters).map((cluster) => [
      cluster.alias,
      createClusterAdmin(cluster, { clientId: "geo-coordinator-discovery", logger }),
    ]),
  );
  let discovery: Discovery | undefined;
  const recordedEpochs = createRecordedEpochs(config, logger);
  const served = await serveService({
    context,
    listen: config.services.coordinator.listen,
    metricsListen: config.services.coordinator.metricsListen,
    probes: [redisProbe(redis), ...clusters.map((cluster) => kafkaClusterProbe(cluster))],
    register: (server, metrics) => {
      const found = createDiscovery({ config, logger, clusterAdmins: discoveryAdmins, metrics });
      discovery = found;
      const assignment = createAssignmentLoop({
        config,
        logger,
        store,
        directory: sessions,
        units: () => found.units(),
        minEpochOf: options.minEpochOf ?? recordedEpochs.minEpochOf,
      });
      loop = assignment;
      found.onChange(() => assignment.kick("discovery"));
      forwarder = createLeaderForwarder({
        leadership: {
          id: coordinatorId,
          isLeader: () => leadership?.isLeader() ?? false,
          leader: async () => leadership?.leader(),
        },
        logger,
      });
      server.addService(
        CoordinatorService,
        createAdminApi({
          config,
          configPath: context.args.configPath ?? process.env.GEO_CONFIG ?? "",
          sessions,
          discovery: found,
          assignment,
          forwarder,
        }),
      );
      server.addService(AgentSessionService, { connect: sessions.connect });
    },
    close: async () => {
      // Releasing the leader lease lets a standby take over at once instead of after the TTL.
      await leadership?.stop();
      await loop?.stop();
      await recordedEpochs.close();
      forwarder?.close();
      // Closing the admins while the round stops makes its pending requests fail at once.
      await Promise.all([
        discovery?.stop(),
        ...[...clusters, ...discoveryAdmins.values()].map((cluster) => cluster.close()),
      ]);
      redis.disconnect();
      electionRedis.disconnect();
    },
  });
  leadership = createLeadership({
    redis: electionRedis,
    keyPrefix: config.redis.keyPrefix,
    id: coordinatorId,
    address: reachableAddress(served.endpoints.grpc),
    ttlMs: config.leases.ttlMs,
    renewIntervalMs: config.leases.renewIntervalMs,
    safetyMarginMs: config.leases.safetyMarginMs,
    logger,
    onElected: (term) => loop?.startTerm(term),
    onDemoted: (reason) => {
      loop?.endTerm();
      sessions.endAll(
        new GeoError(
          Code.UNAVAILABLE,
          `this coordinator is no longer the leader (${reason}); reconnect`,
          { retriable: true },
        ),
      );
    },
  });
  discovery?.start();
  leadership.start();
  return served;
}
