import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { AgentServiceConfig, GeoConfig } from "@geo/config";
import { Code, GeoError } from "@geo/grpc";
import { type ClusterAdmin, createClusterAdmin } from "@geo/kafka";
import { createLeaseStore } from "@geo/leases";
import type { Logger } from "@geo/logging";
import { Counter, type Registry } from "@geo/metrics";
import type { Epoch } from "@geo/positions";
import { type UnitKey, unitId } from "@geo/progress";
import { AgentService } from "@geo/proto";
import { createRedisClient, type Redis } from "@geo/redis";
import { createReplicationEngine, type ReplicationEngine } from "@geo/replication";
import {
  grpcClientOptions,
  kafkaClusterProbe,
  type RunningService,
  reachableAddress,
  redisProbe,
  type ServedService,
  type ServiceContext,
  serveService,
} from "@geo/service-runtime";
import { AGENT_VERSION, agentApi } from "./agent-api";
import { AssignmentApplier } from "./assignment-applier";
import { type CoordinatorSession, startCoordinatorSession } from "./coordinator-session";
import { type LeaseKeeper, startLeaseKeeper } from "./lease-keeper";
import { toUnitReport } from "./unit-messages";
import { UnitReporter } from "./unit-reporter";

/**
 * A region agent: replicates the units the coordinator assigns to it, each under a lease with a
 * fencing epoch that it renews in Redis. Its health follows Redis and its region's clusters; the
 * coordinator is not a dependency: while it is away the agent keeps running what it holds, for as
 * long as its leases hold.
 *
 * Its parts: the lease keeper (lease-keeper), the assignment applier (units in and out of the
 * engine, assignment-applier), the replication engine, the coordinator session and the unit
 * reporter, and the gRPC API (agent-api).
 */
export async function startAgent(context: ServiceContext): Promise<RunningService> {
  const agent = createAgentParts(context);
  const { config } = context;
  const { keeper, reporter } = agent;
  const served = await serveAgent(context, agent);
  agent.advertiseAddress = reachableAddress(served.endpoints.grpc);
  // Registered before Hello: a second process started with a taken id must find out before its
  // Hello replaces the real agent's session at the coordinator. (Redis unreachable: the session
  // opens anyway; the coordinator waits for the liveness key before assigning anything.)
  await Promise.race([
    keeper.renewNow(),
    new Promise((resolve) => setTimeout(resolve, config.leases.renewIntervalMs).unref()),
  ]);
  if (agent.conflict) return served;
  agent.session = startCoordinatorSession({
    coordinatorAddress: config.services.coordinator.address,
    clientOptions: (address) => grpcClientOptions(config, address),
    logger: agent.logger,
    hello: () => ({
      agentId: agent.agentId,
      region: agent.region,
      version: AGENT_VERSION,
      advertiseAddress: agent.advertiseAddress,
      runningUnits: agent.engine!.statuses().map(toUnitReport),
    }),
    onAssignment: (snapshot) =>
      agent.applier.onAssignment(snapshot, agent.session?.status().sessionId ?? ""),
    onRevoke: (revoke) => agent.applier.onRevoke(revoke),
  });
  reporter.start(Math.max(500, config.leases.renewIntervalMs));
  return served;
}

/** The agent's parts, and what is set as it starts. */
interface AgentParts {
  region: string;
  agentId: string;
  logger: Logger;
  startTime: Date;
  redis: Redis;
  admins: ClusterAdmin[];
  keeper: LeaseKeeper;
  applier: AssignmentApplier;
  reporter: UnitReporter;
  advertiseAddress: string;
  session: CoordinatorSession | undefined;
  /** Created when the server registers, so its per-unit series land on the agent's /metrics. */
  engine: ReplicationEngine | undefined;
  renewalFailures: Counter | undefined;
  /** Another live process holds this agent id: this one is stopping. */
  conflict: boolean;
}

function createAgentParts(context: ServiceContext): AgentParts {
  const { config } = context;
  const { region, agentId } = agentIdentity(config.services.agent);
  const logger = context.logger.child({ agent: agentId, region });
  const localClusters = Object.values(config.clusters).filter((c) => c.region === region);
  const redis = createRedisClient(config.redis, { logger, name: `agent-${agentId}` });
  const leaseStore = createLeaseStore({ redis, keyPrefix: config.redis.keyPrefix });
  const send: CoordinatorSession["send"] = (message) => agent.session?.send(message) ?? false;
  let applier!: AssignmentApplier;
  const keeper = startLeaseKeeper({
    onRenewalFailed: () => agent.renewalFailures?.inc(),
    store: leaseStore,
    agentId,
    info: { region, instance: randomUUID(), version: AGENT_VERSION },
    ttlMs: config.leases.ttlMs,
    renewIntervalMs: config.leases.renewIntervalMs,
    safetyMarginMs: config.leases.safetyMarginMs,
    logger,
    onLost: (lost) => applier.onLeasesLost(lost),
    onRevoked: (revoked) => applier.onLeasesRevoked(revoked),
    onRegained: (regained) => applier.onLeasesRegained(regained),
    onConflict: (message) => {
      if (agent.conflict) return;
      agent.conflict = true;
      logger.fatal(message);
      context.fail(message);
    },
  });
  applier = new AssignmentApplier({
    agentId,
    logger,
    keeper,
    leaseStore,
    engine: () => agent.engine,
    send,
  });
  const agent: AgentParts = {
    region,
    agentId,
    logger,
    startTime: new Date(),
    redis,
    admins: localClusters.map((cluster) =>
      createClusterAdmin(cluster, { clientId: `geo-agent-${agentId}`, logger }),
    ),
    keeper,
    applier,
    reporter: new UnitReporter(() => agent.engine!, send),
    advertiseAddress: "",
    session: undefined,
    engine: undefined,
    renewalFailures: undefined,
    conflict: false,
  };
  return agent;
}

/** The gRPC server with the agent's API, its /metrics and health; the engine made as it registers. */
function serveAgent(context: ServiceContext, agent: AgentParts): Promise<ServedService> {
  const { config } = context;
  const { keeper } = agent;
  return serveService({
    context,
    listen: config.services.agent.listen,
    metricsListen: config.services.agent.metricsListen,
    probes: [redisProbe(agent.redis), ...agent.admins.map((admin) => kafkaClusterProbe(admin))],
    register: (server, metrics) => {
      agent.renewalFailures = renewalFailuresCounter(metrics);
      agent.engine = createAgentEngine({
        agentId: agent.agentId,
        config,
        logger: agent.logger,
        metrics,
        isTrusted: (unit, epoch) => keeper.isTrusted(unitId(unit), epoch),
        deadline: (unit, epoch) => keeper.deadline(unitId(unit), epoch),
        onUnitStateChange: (unit) => agent.reporter.reportSoon(unit),
      });
      server.addService(
        AgentService,
        agentApi({
          agentId: agent.agentId,
          region: agent.region,
          startTime: agent.startTime,
          coordinatorAddress: config.services.coordinator.address,
          advertiseAddress: () => agent.advertiseAddress,
          engine: () => agent.engine!,
          session: () => agent.session,
        }),
      );
    },
    close: async () => {
      agent.reporter.stop();
      await agent.session?.stop();
      await agent.applier.settled;
      // Units stop with their acknowledged progress flushed; leases then lapse or are re-granted.
      await agent.engine?.close();
      await keeper.stop();
      await Promise.all(agent.admins.map((admin) => admin.close()));
      agent.redis.disconnect();
    },
  });
}

/** The agent's region (required) and id (default: host name and process id). */
function agentIdentity(agent: AgentServiceConfig): { region: string; agentId: string } {
  const region = agent.region;
  if (region === undefined) {
    throw new GeoError(
      Code.FAILED_PRECONDITION,
      "the agent needs a region: pass --region <region>, set GEO_AGENT_REGION, or services.agent.region in the config",
    );
  }
  return { region, agentId: agent.id ?? `${hostname()}-${process.pid}` };
}

function renewalFailuresCounter(metrics: Registry): Counter {
  return new Counter({
    name: "geo_agent_lease_renewal_failures_total",
    help: "Lease renewals that did not reach Redis; units stop writing when their lease deadline passes without one.",
    registers: [metrics],
  });
}

/** The replication engine, its units fenced by the agent's leases. */
function createAgentEngine(o: {
  agentId: string;
  config: GeoConfig;
  logger: Logger;
  metrics: Registry;
  isTrusted: (unit: UnitKey, epoch: Epoch) => boolean;
  deadline: (unit: UnitKey, epoch: Epoch) => number | undefined;
  onUnitStateChange: (unit: UnitKey) => void;
}): ReplicationEngine {
  const { config } = o;
  // Writes must end before the lease could have expired. A unit's batches have its lease's
  // local deadline as their delivery deadline (leaseDeadline below): nothing is sent, nor waited
  // for, past it, and the safety margin beyond it covers requests still on their way. Until then
  // a batch the target has not acknowledged is sent again as it was (same producer id and
  // sequence numbers), so a slow or briefly stalled target costs time, not duplicates. This
  // bounds what has no lease deadline, progress writes and a stopping unit's last batches, and
  // stays inside the safety margin too.
  const deliveryTimeoutMs = Math.max(500, config.leases.safetyMarginMs - 250);
  return createReplicationEngine({
    agentId: o.agentId,
    clusters: config.clusters,
    logger: o.logger,
    metrics: o.metrics,
    deliveryTimeoutMs,
    // What a crash can re-deliver is what was acknowledged but not yet recorded: a quarter
    // second of traffic rather than the engine's default second, for one small write per
    // target cluster each time.
    progressIntervalMs: 250,
    traceBatchesOneIn: config.telemetry.traceBatchesOneIn ?? (config.telemetry.enabled ? 100 : 0),
    leaseGuard: o.isTrusted,
    leaseDeadline: o.deadline,
    onUnitStateChange: o.onUnitStateChange,
  });
}
