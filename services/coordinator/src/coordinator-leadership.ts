import { createBackoff, sleep } from "@geo/backoff";
import type { GeoConfig } from "@geo/config";
import { Code, GeoError } from "@geo/grpc";
import type { Logger } from "@geo/logging";
import type { Redis } from "@geo/redis";
import type { SessionGate } from "./agent-session";
import { type AgentSessions, createAgentSessions } from "./agent-sessions";
import { createLeadership, type Leadership } from "./assignment/leadership";
import type { LateParts } from "./coordinator-parts";
import type { FlowRegistry } from "./flows/flow-registry";

/**
 * The agents' sessions, let in on the leader only (the others tell agents where the leader is);
 * their events kick the assignment loop.
 */
export function createGatedSessions(
  config: GeoConfig,
  logger: Logger,
  coordinatorId: string,
  late: LateParts,
): AgentSessions {
  return createAgentSessions({
    config,
    coordinatorId,
    logger,
    gate: leadershipGate(late, coordinatorId),
    // Reports only feed loads and status: the next periodic round picks them up.
    onEvent: (event) => {
      if (event.kind !== "reports") late.loop?.kick(event.kind);
    },
  });
}

function leadershipGate(late: LateParts, coordinatorId: string): SessionGate {
  return {
    isLeader: () => late.leadership?.isLeader() ?? false,
    waitForLeadership: (ms, signal) =>
      late.leadership?.waitForLeadership(ms, signal) ?? Promise.resolve(false),
    describeLeader: () => late.leadership?.describeLeader() ?? Promise.resolve("starting up"),
    leaderAddress: async () => {
      const leader = await late.leadership?.leader();
      return leader === undefined || leader.id === coordinatorId ? undefined : leader.address;
    },
  };
}

export interface CoordinatorLeadershipOptions {
  config: GeoConfig;
  logger: Logger;
  electionRedis: Redis;
  coordinatorId: string;
  /** Where standbys reach this coordinator. */
  address: string;
  late: LateParts;
  registry: FlowRegistry;
  sessions: AgentSessions;
  closing: AbortSignal;
}

/**
 * Makes the leader lease (in `late.leadership`) and starts it and discovery once the flow store
 * was read.
 */
export function startLeadership(options: CoordinatorLeadershipOptions): void {
  options.late.leadership = createCoordinatorLeadership(options);
  startOnceFlowsRead({
    late: options.late,
    registry: options.registry,
    logger: options.logger,
    intervalMs: options.config.discovery.intervalMs,
    closing: options.closing,
  });
}

/** The leader lease: a new leader starts an assignment term, a demoted one ends it. */
function createCoordinatorLeadership(options: CoordinatorLeadershipOptions): Leadership {
  const { config, logger, late, registry, closing } = options;
  return createLeadership({
    redis: options.electionRedis,
    keyPrefix: config.redis.keyPrefix,
    id: options.coordinatorId,
    address: options.address,
    ttlMs: config.leases.ttlMs,
    renewIntervalMs: config.leases.renewIntervalMs,
    safetyMarginMs: config.leases.safetyMarginMs,
    logger,
    // A new leader first reads the flows its predecessor may have changed a moment ago.
    onElected: (term) =>
      void retryUntil(closing, () => registry.load(), logger, "reading the flow store").then(
        (loaded) => {
          if (loaded && late.leadership?.isLeader() === true) late.loop?.startTerm(term);
        },
      ),
    onDemoted: (reason) => {
      late.loop?.endTerm();
      options.sessions.endAll(
        new GeoError(
          Code.UNAVAILABLE,
          `this coordinator is no longer the leader (${reason}); reconnect`,
          { retriable: true },
        ),
      );
    },
  });
}

/**
 * Without the flow store's flows, API flows would look deleted: neither discover nor lead before
 * it was read once. Standbys read it again every discovery interval.
 */
function startOnceFlowsRead(options: {
  late: LateParts;
  registry: FlowRegistry;
  logger: Logger;
  intervalMs: number;
  closing: AbortSignal;
}): void {
  const { late, registry, closing } = options;
  void retryUntil(closing, () => registry.load(), options.logger, "reading the flow store").then(
    (loaded) => {
      if (!loaded) return;
      late.discovery?.start();
      late.leadership?.start();
      const reload = setInterval(() => {
        if (late.leadership?.isLeader() !== true) void registry.load().catch(() => undefined);
      }, options.intervalMs);
      closing.addEventListener("abort", () => clearInterval(reload));
    },
  );
}

/** Runs `work` until it succeeds (true) or `signal` aborts (false), backing off to 5 s. */
async function retryUntil(
  signal: AbortSignal,
  work: () => Promise<void>,
  logger: Logger,
  what: string,
): Promise<boolean> {
  const backoff = createBackoff({ initialMs: 200, maxMs: 5000 });
  while (!signal.aborted) {
    try {
      await work();
      return true;
    } catch (error) {
      logger.warn(
        { err: GeoError.from(error).message, attempt: backoff.failures },
        `${what} failed; retrying`,
      );
      await sleep(backoff.next(), signal);
    }
  }
  return false;
}
