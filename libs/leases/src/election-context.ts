import { type Backoff, createBackoff } from "@geo/backoff";
import type { Logger } from "@geo/logging";
import type { LeaderElectionOptions, LeaderTerm } from "./leader-election-types";
import { createLeaseClock, type LeaseClock } from "./lease-clock";
import { LeaseError } from "./lease-error";
import { type RunScript, scriptRunner } from "./scripts";
import { checkId, checkInt, checkTtl, MAX_TTL_MS } from "./validate";

/** The leader lease's name in the election's LeaseClock. */
export const LEADER = "leader";

/**
 * One election's settings and mutable state, shared by its parts (election-calls, leader-term,
 * leader-acquire, leader-renew, election-loop). Fields are read where they are used, never
 * copied, so a part that awaits sees what stop() or a demotion changed meanwhile.
 */
export interface Election {
  readonly options: LeaderElectionOptions;
  readonly key: string;
  readonly id: string;
  readonly ttlMs: number;
  readonly renewIntervalMs: number;
  readonly recoveryMs: number;
  readonly stateKey: string;
  readonly run: RunScript;
  readonly clock: LeaseClock;
  readonly logger: Logger | undefined;
  readonly backoff: Backoff;
  state: "idle" | "follower" | "leader" | "stopped";
  term: LeaderTerm | undefined;
  loopTimer: NodeJS.Timeout | undefined;
  deadlineTimer: NodeJS.Timeout | undefined;
  inFlight: Promise<void> | undefined;
  failures: number;
}

/** Validates the options and builds an idle election. */
export function createElection(options: LeaderElectionOptions): Election {
  const key = checkId("key", options?.key);
  const id = checkId("id", options.id);
  const ttlMs = checkTtl("ttlMs", options.ttlMs);
  const margin =
    options.safetyMarginMs === undefined
      ? Math.min(2000, Math.floor(ttlMs / 4))
      : checkInt("safetyMarginMs", options.safetyMarginMs, 0, ttlMs - 1);
  const renewIntervalMs = checkInt("renewIntervalMs", options.renewIntervalMs, 1, MAX_TTL_MS);
  if (renewIntervalMs >= ttlMs - margin) {
    throw new LeaseError(
      "INVALID_ARGUMENT",
      `renewIntervalMs (${renewIntervalMs}) must be below ttlMs - safetyMarginMs (${ttlMs - margin}), or the leader demotes itself between renewals`,
    );
  }
  const recoveryMs = checkInt("recoveryMs", options.recoveryMs ?? ttlMs, 0, MAX_TTL_MS);
  const stateKey = `${key}:state`;
  const run = scriptRunner(options.redis);
  const clock = createLeaseClock({
    ttlMs,
    safetyMarginMs: margin,
    ...(options.now ? { now: options.now } : {}),
  });
  const logger = options.logger?.child({ component: "leader-election", key, id });

  const backoff = createBackoff({
    initialMs: Math.min(50, renewIntervalMs),
    maxMs: renewIntervalMs,
  });
  return {
    options,
    key,
    id,
    ttlMs,
    renewIntervalMs,
    recoveryMs,
    stateKey,
    run,
    clock,
    logger,
    backoff,
    state: "idle",
    term: undefined,
    loopTimer: undefined,
    deadlineTimer: undefined,
    inFlight: undefined,
    failures: 0,
  };
}
