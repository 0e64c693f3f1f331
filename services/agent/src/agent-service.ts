import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, GeoError, paginate, type ServiceImpl } from "@geo/grpc";
import { createClusterAdmin } from "@geo/kafka";
import { createLeaseStore } from "@geo/leases";
import { Counter } from "@geo/metrics";
import { type UnitKey, unitId } from "@geo/progress";
import { AgentService, agentV1 } from "@geo/proto";
import { createRedisClient } from "@geo/redis";
import {
  createReplicationEngine,
  type ReplicationEngine,
  type UnitAssignment,
} from "@geo/replication";
import {
  grpcClientOptions,
  kafkaClusterProbe,
  type RunningService,
  reachableAddress,
  redisProbe,
  type ServiceContext,
  serveService,
} from "@geo/service-runtime";
import { type ApplyTrace, traceApplyingAssignment } from "./assignment-trace";
import { startCoordinatorSession } from "./coordinator-session";
import { startLeaseKeeper } from "./lease-keeper";
import { toUnitAssignment, toUnitReport, unitKeyMessage } from "./unit-messages";

const AGENT_VERSION = "0.1.0";

/**
 * A region agent: replicates the units the coordinator assigns to it, each under a lease with a
 * fencing epoch that it renews in Redis. Its health follows Redis and its region's clusters; the
 * coordinator is not a dependency: while it is away the agent keeps running what it holds, for as
 * long as its leases hold.
 */
export async function startAgent(context: ServiceContext): Promise<RunningService> {
  const { config, logger: baseLogger } = context;
  const region = config.services.agent.region;
  if (region === undefined) {
    throw new GeoError(
      Code.FAILED_PRECONDITION,
      "the agent needs a region: pass --region <region>, set GEO_AGENT_REGION, or services.agent.region in the config",
    );
  }
  const agentId = config.services.agent.id ?? `${hostname()}-${process.pid}`;
  const logger = baseLogger.child({ agent: agentId, region });
  const startTime = new Date();
  const localClusters = Object.values(config.clusters).filter((c) => c.region === region);
  const redis = createRedisClient(config.redis, { logger, name: `agent-${agentId}` });
  const admins = localClusters.map((cluster) =>
    createClusterAdmin(cluster, { clientId: `geo-agent-${agentId}`, logger }),
  );
  let advertiseAddress = "";
  let session: ReturnType<typeof startCoordinatorSession> | undefined;
  /** Another live process holds this agent id: this one is stopping. */
  let conflict = false;
  // Reporting, set up once the session starts (close() may run before: a conflict at start).
  let reporting: NodeJS.Timeout | undefined;
  const changed = new Map<string, UnitKey>();
  let changeTimer: NodeJS.Timeout | undefined;

  // Writes must end before the lease could have expired. A unit's batches have its lease's
  // local deadline as their delivery deadline (leaseDeadline below): nothing is sent, nor waited
  // for, past it, and the safety margin beyond it covers requests still on their way. Until then
  // a batch the target has not acknowledged is sent again as it was (same producer id and
  // sequence numbers), so a slow or briefly stalled target costs time, not duplicates. This
  // bounds what has no lease deadline, progress writes and a stopping unit's last batches, and
  // stays inside the safety margin too.
  const deliveryTimeoutMs = Math.max(500, config.leases.safetyMarginMs - 250);
  const leaseStore = createLeaseStore({ redis, keyPrefix: config.redis.keyPrefix });
  let renewalFailures: Counter | undefined;
  const keeper = startLeaseKeeper({
    onRenewalFailed: () => renewalFailures?.inc(),
    store: leaseStore,
    agentId,
    info: { region, instance: randomUUID(), version: AGENT_VERSION },
    ttlMs: config.leases.ttlMs,
    renewIntervalMs: config.leases.renewIntervalMs,
    safetyMarginMs: config.leases.safetyMarginMs,
    logger,
    onLost: (lost) => {
      const lostIds = new Set(lost);
      desired = desired.filter((unit) => !lostIds.has(unitId(unit.unit)));
      applyDesired();
    },
    onRevoked: (revoked) => {
      for (const { unitId: id, epoch } of revoked) {
        const unit = desired.find((a) => unitId(a.unit) === id && a.epoch === epoch);
        if (unit === undefined) continue;
        desired = desired.filter((a) => a !== unit);
        handBack(unit.unit, epoch, "revoked (seen on lease renewal)");
      }
    },
    onRegained: (regained) => {
      // A unit whose trust lapsed stopped as "lease lost"; Redis still says it is this agent's at
      // the same epoch, and the coordinator has no reason to send anything new: start it again.
      if (engine === undefined) return;
      const ids = new Set(regained.map((unit) => unit.unitId));
      const stopped = engine
        .statuses()
        .filter((status) => status.state === "stopped" && ids.has(unitId(status.unit)));
      if (stopped.length === 0) return;
      logger.info(
        { units: stopped.map((status) => unitId(status.unit)) },
        "leases trusted again after a lapse; restarting the units stopped for it",
      );
      applyDesired();
    },
    onConflict: (message) => {
      if (conflict) return;
      conflict = true;
      logger.fatal(message);
      context.fail(message);
    },
  });
  // Created when the server registers, so its per-unit series land on the agent's /metrics.
  let engine!: ReplicationEngine;

  // Assignment changes are applied one after another, in the order the coordinator sent them.
  let desired: UnitAssignment[] = [];
  let lastGeneration = -1n;
  let generationSession = "";
  let applying: Promise<void> = Promise.resolve();
  // Units being handed back stay in the keeper's set until released: their last progress is
  // written under their lease, which dropping them from the set would stop trusting at once.
  const handingBack = new Map<string, bigint>();
  const holdLeases = () =>
    keeper.setUnits(
      new Map([...handingBack, ...desired.map((a) => [unitId(a.unit), a.epoch] as const)]),
    );
  const applyDesired = (traced: ApplyTrace = { end: () => {} }) => {
    const snapshot = desired;
    applying = applying
      .then(async () => {
        holdLeases();
        // A new unit is trusted only after a renewal that includes it succeeded.
        await keeper.renewNow();
        await engine.assign(snapshot);
        traced.end();
      })
      .catch((error: unknown) => {
        traced.end(error);
        logger.error({ err: error }, "applying the assignment failed");
      });
  };

  // Stops a unit (its acknowledged progress flushed), gives its lease back in Redis and tells the
  // coordinator where it stopped, so the next owner can be granted at once.
  const handBack = (unit: UnitKey, epoch: bigint, reason: string) => {
    const id = unitId(unit);
    handingBack.set(id, epoch);
    applying = applying.then(async () => {
      try {
        // Once per unit and epoch: a revoke is seen on renewal and in a Revoke message.
        if (!engine.statuses().some((s) => unitId(s.unit) === id && s.epoch === epoch)) return;
        const { nextSourceOffset } = await engine.release(unit);
        await leaseStore.releaseUnit(id, agentId, Number(epoch));
        session?.send({
          message: {
            case: "released",
            value: {
              unit: unitKeyMessage(unit),
              epoch: String(epoch),
              nextSourceOffset: String(nextSourceOffset),
              reason,
            },
          },
        });
        logger.info({ unit: id, epoch: String(epoch), reason }, "unit handed back");
      } catch (error) {
        logger.error({ err: error, unit: id }, "handing a unit back failed; its lease will lapse");
      } finally {
        if (handingBack.get(id) === epoch) handingBack.delete(id);
        holdLeases();
      }
    });
  };

  const api: Partial<ServiceImpl<typeof AgentService>> = {
    getAgentStatus: () => {
      const status = session?.status();
      const units = engine.statuses();
      return {
        agentId,
        region,
        version: AGENT_VERSION,
        advertiseAddress,
        startTime: timestampFromDate(startTime),
        sessionState: {
          connecting: agentV1.SessionState.CONNECTING,
          connected: agentV1.SessionState.CONNECTED,
          disconnected: agentV1.SessionState.DISCONNECTED,
        }[status?.state ?? "connecting"],
        sessionId: status?.sessionId ?? "",
        coordinatorAddress: config.services.coordinator.address,
        sessionChangeTime: timestampFromDate(status?.changedAt ?? startTime),
        runningUnitCount: units.filter((unit) => unit.state === "running").length,
        errorUnitCount: units.filter((unit) => unit.state === "error").length,
        recordsPerSecond: units.reduce((sum, unit) => sum + unit.recordsPerSecond, 0),
        bytesPerSecond: units.reduce((sum, unit) => sum + unit.bytesPerSecond, 0),
        assignmentGeneration: status?.assignmentGeneration ?? "0",
      };
    },
    listRunningUnits: (request) => {
      const units = engine
        .statuses()
        .filter((status) => request.flow === "" || status.unit.flow === request.flow)
        .sort((a, b) => unitId(a.unit).localeCompare(unitId(b.unit)));
      const page = paginate(units, request);
      return { units: page.items.map(toUnitReport), nextPageToken: page.nextPageToken };
    },
  };

  const served = await serveService({
    context,
    listen: config.services.agent.listen,
    metricsListen: config.services.agent.metricsListen,
    probes: [redisProbe(redis), ...admins.map((admin) => kafkaClusterProbe(admin))],
    register: (server, metrics) => {
      renewalFailures = new Counter({
        name: "geo_agent_lease_renewal_failures_total",
        help: "Lease renewals that did not reach Redis; units stop writing when their lease deadline passes without one.",
        registers: [metrics],
      });
      engine = createReplicationEngine({
        agentId,
        clusters: config.clusters,
        logger,
        metrics,
        deliveryTimeoutMs,
        // What a crash can re-deliver is what was acknowledged but not yet recorded: a quarter
        // second of traffic rather than the engine's default second, for one small write per
        // target cluster each time.
        progressIntervalMs: 250,
        traceBatchesOneIn:
          config.telemetry.traceBatchesOneIn ?? (config.telemetry.enabled ? 100 : 0),
        leaseGuard: (unit, epoch) => keeper.isTrusted(unitId(unit), epoch),
        leaseDeadline: (unit, epoch) => keeper.deadline(unitId(unit), epoch),
        onUnitStateChange: (unit) => reportSoon(unit),
      });
      server.addService(AgentService, api);
    },
    close: async () => {
      clearInterval(reporting);
      clearTimeout(changeTimer);
      await session?.stop();
      await applying;
      // Units stop with their acknowledged progress flushed; leases then lapse or are re-granted.
      await engine.close();
      await keeper.stop();
      await Promise.all(admins.map((admin) => admin.close()));
      redis.disconnect();
    },
  });
  advertiseAddress = reachableAddress(served.endpoints.grpc);
  // Registered before Hello: a second process started with a taken id must find out before its
  // Hello replaces the real agent's session at the coordinator. (Redis unreachable: the session
  // opens anyway; the coordinator waits for the liveness key before assigning anything.)
  await Promise.race([
    keeper.renewNow(),
    new Promise((resolve) => setTimeout(resolve, config.leases.renewIntervalMs).unref()),
  ]);
  if (conflict) return served;

  session = startCoordinatorSession({
    coordinatorAddress: config.services.coordinator.address,
    clientOptions: (address) => grpcClientOptions(config, address),
    logger,
    hello: () => ({
      agentId,
      region,
      version: AGENT_VERSION,
      advertiseAddress,
      runningUnits: engine.statuses().map(toUnitReport),
    }),
    onAssignment: (snapshot) => {
      // Within a session generations only grow, and an older snapshot must not undo a newer
      // one. A new session's leader starts its own count: after Redis came back empty its leader
      // epoch, and so its generations, restart low, and its snapshots are still the truth.
      const sessionId = session?.status().sessionId ?? "";
      if (sessionId !== generationSession) {
        generationSession = sessionId;
        lastGeneration = -1n;
      }
      const generation = BigInt(snapshot.generation);
      if (generation < lastGeneration) return;
      lastGeneration = generation;
      let next: UnitAssignment[];
      try {
        next = snapshot.units.map(toUnitAssignment);
      } catch (error) {
        logger.error({ err: error }, "ignoring an assignment the agent cannot read");
        return;
      }
      // A snapshot is the full set: units it leaves out are stopped, released and reported,
      // before the new set is applied (which would stop them without a word). A unit listed with
      // another epoch is restarted at that epoch by the engine instead.
      const kept = new Set(next.map((unit) => unitId(unit.unit)));
      const dropped = desired.filter((unit) => !kept.has(unitId(unit.unit)));
      desired = next;
      for (const unit of dropped) handBack(unit.unit, unit.epoch, "left out of the assignment");
      applyDesired(traceApplyingAssignment(snapshot, agentId));
    },
    onRevoke: (revoke) => {
      const unit = revoke.unit;
      if (unit === undefined) return;
      const id = unitId(unit);
      desired = desired.filter((assigned) => unitId(assigned.unit) !== id);
      handBack(unit, BigInt(revoke.epoch), revoke.reason);
    },
  });
  const reportEveryMs = Math.max(500, config.leases.renewIntervalMs);
  // A state change is reported at once (gathered over 100 ms), not at the next complete report:
  // the coordinator's status then shows a takeover when it happens, not seconds later.
  function reportSoon(unit: UnitKey): void {
    changed.set(unitId(unit), unit);
    changeTimer ??= setTimeout(() => {
      changeTimer = undefined;
      const units = [...changed.values()];
      changed.clear();
      const reports = engine.statuses(units).map(toUnitReport);
      if (reports.length === 0) return;
      session?.send({ message: { case: "unitReports", value: { complete: false, reports } } });
    }, 100);
  }
  reporting = setInterval(() => {
    session?.send({
      message: {
        case: "unitReports",
        value: { complete: true, reports: engine.statuses().map(toUnitReport) },
      },
    });
  }, reportEveryMs);
  return served;
}
