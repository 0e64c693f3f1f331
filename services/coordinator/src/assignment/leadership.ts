// Coordinator high availability: every coordinator contends for one Redis leader lease
// (`<prefix>coordinator:leader`, @geo/leases createLeaderElection); only the leader runs the
// assignment loop. Each coordinator also publishes its address under
// `<prefix>coordinator:instance:<id>` so that a standby can name the leader and its address to
// the agents it turns away, and forward status reads to it.
import type { LeaderTerm } from "@geo/leases";
import { createLeaderElection, type DemotionReason } from "@geo/leases";
import type { Logger } from "@geo/logging";
import type { Redis } from "@geo/redis";

export interface LeaderInfo {
  readonly id: string;
  /** `host:port` of its gRPC server; undefined when it has not published one. */
  readonly address: string | undefined;
}

export interface Leadership {
  readonly id: string;
  start(): void;
  /** Stops contending; a leader is demoted first and releases the lease. */
  stop(): Promise<void>;
  isLeader(): boolean;
  term(): LeaderTerm | undefined;
  /** True at once when leading, else when elected within timeoutMs; false after it or abort. */
  waitForLeadership(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /** The current leader as Redis knows it; undefined when none is elected. */
  leader(): Promise<LeaderInfo | undefined>;
  /** "the leader is <id> at <address>", or why there is none, for messages. */
  describeLeader(): Promise<string>;
}

export interface LeadershipOptions {
  /** A client for the election only, so slow assignment traffic cannot delay its renewals. */
  readonly redis: Redis;
  readonly keyPrefix: string;
  /** This coordinator's id (host-pid). */
  readonly id: string;
  /** `host:port` agents and operators can reach this coordinator at. */
  readonly address: string;
  readonly ttlMs: number;
  readonly renewIntervalMs: number;
  readonly safetyMarginMs?: number;
  readonly logger: Logger;
  readonly onElected: (term: LeaderTerm) => void;
  readonly onDemoted: (reason: DemotionReason) => void;
}

export function leaderKey(keyPrefix: string): string {
  return `${keyPrefix}coordinator:leader`;
}

export function instanceKey(keyPrefix: string, id: string): string {
  return `${keyPrefix}coordinator:instance:${id}`;
}

export function createLeadership(options: LeadershipOptions): Leadership {
  const { redis, keyPrefix, id, logger } = options;
  const key = leaderKey(keyPrefix);
  const waiters = new Set<(elected: boolean) => void>();
  const election = createLeaderElection({
    redis,
    key,
    id,
    ttlMs: options.ttlMs,
    renewIntervalMs: options.renewIntervalMs,
    ...(options.safetyMarginMs === undefined ? {} : { safetyMarginMs: options.safetyMarginMs }),
    logger,
    onElected: (term) => {
      options.onElected(term);
      for (const resolve of waiters) resolve(true);
      waiters.clear();
    },
    onDemoted: (reason) => options.onDemoted(reason),
  });

  let publisher: NodeJS.Timeout | undefined;
  const publish = () => {
    redis
      .set(
        instanceKey(keyPrefix, id),
        JSON.stringify({ id, address: options.address }),
        "PX",
        options.ttlMs * 3,
      )
      .catch((error: unknown) =>
        logger.debug({ err: String(error) }, "could not publish this coordinator's address"),
      );
  };

  const leader = async (): Promise<LeaderInfo | undefined> => {
    const token = await redis.get(key);
    if (token === null) return undefined;
    const leaderId = token.slice(0, Math.max(0, token.lastIndexOf("/")));
    const published = await redis.get(instanceKey(keyPrefix, leaderId));
    let address: string | undefined;
    try {
      address = published === null ? undefined : JSON.parse(published).address;
    } catch {
      address = undefined;
    }
    return { id: leaderId, address: typeof address === "string" ? address : undefined };
  };

  return {
    id,
    start() {
      publish();
      publisher = setInterval(publish, options.renewIntervalMs);
      election.start();
    },
    async stop() {
      clearInterval(publisher);
      for (const resolve of waiters) resolve(false);
      waiters.clear();
      await election.stop();
      await redis.del(instanceKey(keyPrefix, id)).catch(() => {});
    },
    isLeader: () => election.isLeader(),
    term: () => election.term(),
    waitForLeadership(timeoutMs, signal) {
      if (election.isLeader()) return Promise.resolve(true);
      if (signal?.aborted === true || timeoutMs <= 0) return Promise.resolve(false);
      return new Promise((resolve) => {
        const done = (elected: boolean) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", aborted);
          waiters.delete(done);
          resolve(elected);
        };
        const aborted = () => done(false);
        const timer = setTimeout(() => done(false), timeoutMs);
        signal?.addEventListener("abort", aborted, { once: true });
        waiters.add(done);
      });
    },
    leader,
    async describeLeader() {
      try {
        const info = await leader();
        if (info === undefined) return "no leader is elected yet";
        if (info.id === id) return "this coordinator is being elected";
        return `the leader is ${info.id} at ${info.address ?? "an unpublished address"}`;
      } catch (error) {
        return `the leader is unknown (Redis: ${error instanceof Error ? error.message : String(error)})`;
      }
    },
  };
}
