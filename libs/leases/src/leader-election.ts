import { randomUUID } from "node:crypto";
import { createBackoff } from "@geo/backoff";
import type { Logger } from "@geo/logging";
import { type Epoch, NO_EPOCH } from "@geo/positions";
import type { Redis } from "ioredis";
import { createLeaseClock } from "./lease-clock";
import { LeaseError } from "./lease-error";
import type { LeaderFence } from "./lease-store-types";
import { scriptRunner } from "./scripts";
import { checkEpoch, checkId, checkInt, checkTtl, MAX_TTL_MS, replyEpoch } from "./validate";

/** What a leader holds while it leads. */
export interface LeaderTerm {
  /**
   * Leader epoch: grows with every election (above minEpoch), so writes made elsewhere can be
   * fenced by comparing epochs.
   */
  readonly epoch: Epoch;
  /** Unique value stored in the leader key for this term. */
  readonly token: string;
  /** Pass to grantUnit/revokeUnit: Redis refuses them once this term is over. */
  readonly fence: LeaderFence;
}

export type DemotionReason =
  /** The leader key no longer holds our token (expired and taken, or Redis lost it). */
  | "lost"
  /** No renewal succeeded before the local deadline (Redis unreachable, process paused). */
  | "deadline"
  /** stop() was called. */
  | "stopped";

export interface LeaderElectionOptions {
  /** Client for the election; commands are bounded by the election's own timeouts. */
  readonly redis: Redis;
  /** Full key of the leader lease, already prefixed (e.g. `${keyPrefix}coordinator:leader`). */
  readonly key: string;
  /** This contender's id (host name, pod name); part of the token. */
  readonly id: string;
  readonly ttlMs: number;
  /** How often the leader renews and a follower tries to acquire. Below ttl - safety margin. */
  readonly renewIntervalMs: number;
  /** Default min(2000, ttl / 4), like LeasesConfig. */
  readonly safetyMarginMs?: number;
  /** Called when elected. Start leading here. */
  readonly onElected?: (term: LeaderTerm) => void;
  /** Called when the term ends; stop every leader action at once. */
  readonly onDemoted?: (reason: DemotionReason, term: LeaderTerm) => void;
  /**
   * Lower bound of the next leader epoch (e.g. the highest leader epoch found in durable
   * records), for a Redis that came back empty. Called before each acquisition attempt, so a
   * function should answer from a cache.
   */
  readonly minEpoch?: Epoch | (() => Epoch | Promise<Epoch>);
  /**
   * After Redis lost the election state, nobody is elected for this long, since the previous
   * leader may still trust its lease. Default ttlMs.
   */
  readonly recoveryMs?: number;
  readonly logger?: Logger;
  /** Monotonic milliseconds; default performance.now. */
  readonly now?: () => number;
}

export interface LeaderElection {
  /** Starts contending; idempotent. */
  start(): void;
  /** Stops contending; a leader calls onDemoted("stopped") first, then releases the lease. */
  stop(): Promise<void>;
  /**
   * True while this process is leader and its local deadline has not passed. Check it before
   * every leader action; when the deadline has passed it ends the term (onDemoted "deadline")
   * there and then, even if the deadline timer has not run yet (a paused process).
   */
  isLeader(): boolean;
  /** The current term while leader. */
  term(): LeaderTerm | undefined;
  /** Milliseconds left before the local deadline; 0 when not leader. */
  msLeft(): number;
}

const LEADER = "leader";

/**
 * Leader lease on one Redis key: acquire with SET NX PX (plus an epoch bump, in one script),
 * renew with compare-and-pexpire, release with compare-and-delete. A leader trusts its term
 * until renew-sent + ttl - margin on the monotonic clock and demotes itself when that passes
 * without a successful renewal, whether Redis answered "not yours", did not answer, or the
 * process was paused. Errors are retried with the shared jittered backoff (from 50 ms, capped at the renew
 * interval) until then.
 */
export function createLeaderElection(options: LeaderElectionOptions): LeaderElection {
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

  let state: "idle" | "follower" | "leader" | "stopped" = "idle";
  let term: LeaderTerm | undefined;
  let loopTimer: NodeJS.Timeout | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let failures = 0;
  const backoff = createBackoff({
    initialMs: Math.min(50, renewIntervalMs),
    maxMs: renewIntervalMs,
  });

  const call = <T>(promise: Promise<T>, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LeaseError("REDIS_UNAVAILABLE", `${what}: no answer within ${renewIntervalMs} ms`),
          ),
        renewIntervalMs,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };

  const releaseQuietly = (token: string) => {
    // Queued on the same connection after whatever is in flight, so it also undoes a late
    // acquisition or renewal that we stopped waiting for.
    run("geoLeaseLeaderRelease", [key], [token]).catch((error) =>
      logger?.debug({ error: String(error) }, "leader lease release failed"),
    );
  };

  const notify = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (error) {
      logger?.error({ error: String(error) }, `${what} callback threw`);
    }
  };

  const demote = (reason: DemotionReason) => {
    const ended = term;
    if (state !== "leader" || ended === undefined) return;
    state = "follower";
    term = undefined;
    clock.forget(LEADER);
    clearTimeout(deadlineTimer);
    logger?.warn({ reason, epoch: String(ended.epoch) }, "demoted");
    notify("onDemoted", () => options.onDemoted?.(reason, ended));
    if (reason === "deadline") releaseQuietly(ended.token);
  };

  // Asked after a pause, before the deadline timer had a chance to run: the answer is no, and
  // the term ends now rather than when the timer fires.
  const leading = () => {
    if (state !== "leader") return false;
    if (clock.isTrusted(LEADER)) return true;
    demote("deadline");
    return false;
  };

  const armDeadline = () => {
    clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(
      () => {
        if (state !== "leader") return;
        if (clock.isTrusted(LEADER)) armDeadline();
        else demote("deadline");
      },
      Math.ceil(clock.msLeft(LEADER)),
    );
  };

  const acquire = async (): Promise<number> => {
    const min =
      typeof options.minEpoch === "function"
        ? await options.minEpoch()
        : (options.minEpoch ?? NO_EPOCH);
    const minArg = checkEpoch("minEpoch", min);
    const token = `${id}/${randomUUID()}`;
    const ticket = clock.beginRenew();
    let reply: unknown;
    try {
      reply = await call(
        run("geoLeaseLeaderAcquire", [key, stateKey], [token, ttlMs, minArg, recoveryMs]),
        "leader acquire",
      );
    } catch (error) {
      releaseQuietly(token);
      throw error;
    }
    const [won, outcome, value, retry] = Array.isArray(reply) ? reply : [];
    if (won !== 1) {
      if (outcome === "recovering") return Math.max(1, Number(retry));
      if (outcome !== "held") {
        throw new LeaseError(
          "UNEXPECTED_REPLY",
          `leader acquire answered ${JSON.stringify(reply)}`,
        );
      }
      return renewIntervalMs;
    }
    const epoch = replyEpoch("leader acquire epoch", value);
    clock.confirm(ticket, [{ unitId: LEADER, epoch }]);
    if (state === "stopped" || !clock.isTrusted(LEADER)) {
      // Stopped meanwhile, or the answer came too late to lead on.
      clock.forget(LEADER);
      releaseQuietly(token);
      return renewIntervalMs;
    }
    const elected: LeaderTerm = { epoch, token, fence: { key, token } };
    state = "leader";
    term = elected;
    armDeadline();
    logger?.info({ epoch: String(epoch) }, "elected leader");
    notify("onElected", () => options.onElected?.(elected));
    return renewIntervalMs;
  };

  const renew = async (): Promise<number> => {
    const current = term!;
    const ticket = clock.beginRenew();
    const renewed = await call(
      run("geoLeaseLeaderRenew", [key], [current.token, ttlMs]),
      "leader renew",
    );
    if (term !== current) return renewIntervalMs;
    if (renewed !== 1) {
      demote("lost");
      return renewIntervalMs;
    }
    clock.confirm(ticket, [{ unitId: LEADER, epoch: current.epoch }]);
    if (clock.isTrusted(LEADER)) armDeadline();
    else demote("deadline");
    return renewIntervalMs;
  };

  const tick = async () => {
    loopTimer = undefined;
    if (state === "stopped") return;
    let delay = renewIntervalMs;
    try {
      delay = state === "leader" ? await renew() : await acquire();
      failures = 0;
      backoff.reset();
    } catch (error) {
      failures++;
      delay = backoff.next();
      if (failures === 1 || failures % 20 === 0) {
        logger?.warn(
          {
            error: String((error as Error)?.message ?? error),
            failures,
            leader: state === "leader",
          },
          "leader election call failed; retrying",
        );
      }
    }
    // stop() may have run while we awaited (TypeScript cannot see that).
    if ((state as typeof state | "stopped") !== "stopped") {
      loopTimer = setTimeout(
        () => {
          inFlight = tick();
        },
        Math.min(delay, renewIntervalMs),
      );
    }
  };

  return {
    start() {
      if (state !== "idle") return;
      state = "follower";
      inFlight = tick();
    },
    async stop() {
      if (state === "stopped") return;
      const ended = state === "leader" ? term : undefined;
      state = "stopped";
      term = undefined;
      clearTimeout(loopTimer);
      clearTimeout(deadlineTimer);
      clock.forget(LEADER);
      if (ended !== undefined) {
        notify("onDemoted", () => options.onDemoted?.("stopped", ended));
        try {
          await call(run("geoLeaseLeaderRelease", [key], [ended.token]), "leader release");
        } catch (error) {
          logger?.warn({ error: String(error) }, "could not release the leader lease; it expires");
        }
      }
      await inFlight?.catch(() => {});
    },
    isLeader: () => leading(),
    term: () => (leading() ? term : undefined),
    msLeft: () => (state === "leader" ? clock.msLeft(LEADER) : 0),
  };
}
