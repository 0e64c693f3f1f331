import type { Logger } from "@geo/logging";
import type { Epoch } from "@geo/positions";
import type { Redis } from "ioredis";
import type { LeaderFence } from "./lease-store-types";

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
