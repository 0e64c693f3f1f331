import { hostname } from "node:os";
import { type AuthorizationDecision, Code, GeoError } from "@geo/grpc";
import { createClusterAdmin } from "@geo/kafka";
import { createLeaseStore } from "@geo/leases";
import { AgentSessionService, CoordinatorService } from "@geo/proto";
import { createRedisClient } from "@geo/redis";
import {
  grpcClientOptions,
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
import { createKafkaFlowLog, type FlowLog } from "./flows/flow-log";
import { createFlowRegistry } from "./flows/flow-registry";

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
      leaderAddress: async () => {
        const leader = await leadership?.leader();
        return leader === undefined || leader.id === coordinatorId ? undefined : leader.address;
      },
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
  const configPath = context.args.configPath ?? process.env.GEO_CONFIG ?? "";
  const registry = createFlowRegistry({
    config,
    configPath,
    log: options.flowLog ?? createKafkaFlowLog(config, logger),
    logger,
    onChange: () => {
      // Paused or changed settings need new snapshots even when no unit comes or goes.
      loop?.kick("flow changed");
      void discovery?.refresh().catch(() => undefined);
    },
  });
  const recordedEpochs = createRecordedEpochs(config, logger, () => registry.flows());
  const served = await serveService({
    context,
    listen: config.services.coordinator.listen,
    metricsListen: config.services.coordinator.metricsListen,
    probes: [redisProbe(redis), ...clusters.map((cluster) => kafkaClusterProbe(cluster))],
    onAuthorizationDecision: (decision) => {
      const flow = refusedFlowChange(decision);
      if (flow !== undefined) void registry.recordRefusal(flow, decision.caller, decision.reason!);
    },
    register: (server, metrics) => {
      const found = createDiscovery({
        config,
        logger,
        clusterAdmins: discoveryAdmins,
        metrics,
        flows: () => registry.flows(),
      });
      discovery = found;
      const assignment = createAssignmentLoop({
        config,
        logger,
        store,
        directory: sessions,
        units: () => found.units(),
        flows: () => registry.flows(),
        flowVersion: (name) => {
          const entry = registry.get(name);
          return entry?.owner === "api" ? entry.api.version : 1n;
        },
        minEpochOf: options.minEpochOf ?? recordedEpochs.minEpochOf,
      });
      loop = assignment;
      found.onChange(() => assignment.kick("discovery"));
      forwarder = createLeaderForwarder({
        clientOptions: (address) => grpcClientOptions(config, address),
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
          configPath,
          registry,
          sessions,
          discovery: found,
          assignment,
          forwarder,
        }),
      );
      server.addService(AgentSessionService, { connect: sessions.connect });
    },
    close: async () => {
      closing.abort();
      // Releasing the leader lease lets a standby take over at once instead of after the TTL.
      await leadership?.stop();
      await loop?.stop();
      await Promise.all([recordedEpochs.close(), registry.close()]);
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
    // A new leader first reads the flows its predecessor may have changed a moment ago.
    onElected: (term) =>
      void retryUntil(closing.signal, () => registry.load(), logger, "reading the flow store").then(
        (loaded) => {
          if (loaded && leadership?.isLeader() === true) loop?.startTerm(term);
        },
      ),
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
  // Without the flow store's flows, API flows would look deleted: neither discover nor lead
  // before it was read once. Standbys read it again every discovery interval.
  void retryUntil(closing.signal, () => registry.load(), logger, "reading the flow store").then(
    (loaded) => {
      if (!loaded) return;
      discovery?.start();
      leadership?.start();
      const reload = setInterval(() => {
        if (leadership?.isLeader() !== true) void registry.load().catch(() => undefined);
      }, config.discovery.intervalMs);
      closing.signal.addEventListener("abort", () => clearInterval(reload));
    },
  );
  return served;
}

/** Runs `work` until it succeeds (true) or `signal` aborts (false), backing off to 5 s. */
async function retryUntil(
  signal: AbortSignal,
  work: () => Promise<void>,
  logger: ServiceContext["logger"],
  what: string,
): Promise<boolean> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      await work();
      return true;
    } catch (error) {
      logger.warn({ err: GeoError.from(error).message, attempt }, `${what} failed; retrying`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 200 * 2 ** attempt)));
    }
  }
  return false;
}

const FLOW_CHANGES = new Set(["CreateFlow", "UpdateFlow", "DeleteFlow", "PauseFlow", "ResumeFlow"]);

/** The flow a refused flow change was about, so the history can record the refusal. */
function refusedFlowChange(decision: AuthorizationDecision): string | undefined {
  const [service, method] = decision.method.split("/");
  if (decision.allowed || service !== CoordinatorService.typeName || !FLOW_CHANGES.has(method!)) {
    return undefined;
  }
  const request = decision.request as { name?: unknown; flow?: { name?: unknown } } | undefined;
  const name = request?.flow?.name ?? request?.name;
  // Only names a flow could have: a refused caller must not write megabytes into the history.
  return typeof name === "string" && name.length > 0 && name.length <= 100 ? name : undefined;
}
