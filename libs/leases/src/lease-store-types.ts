import type { Epoch } from "@geo/positions";
import type { Redis } from "ioredis";
import type { LeaseKeys } from "./keys";

/** What an agent publishes about itself with its liveness. */
export interface AgentInfo {
  /** Region (cluster alias) whose units the agent runs. */
  readonly region: string;
  /**
   * Unique per process start (e.g. a random UUID). While one instance is live, another process
   * using the same agent id is refused, so two processes never share an agent's units.
   */
  readonly instance: string;
  /** Anything else (address, version, capacity); stored as JSON. */
  readonly [key: string]: unknown;
}

export type AgentLiveness =
  | { readonly ok: true /** The liveness key did not exist before. */; readonly created: boolean }
  | {
      readonly ok: false;
      readonly reason: "instance-conflict";
      /** The instance that holds the agent id. */
      readonly liveInstance: string;
      /** When its liveness ends unless renewed. */
      readonly retryInMs: number;
    };

export interface LiveAgent {
  readonly agentId: string;
  readonly region: string;
  readonly instance: string;
  readonly info: AgentInfo;
  /** Remaining liveness, as Redis counts it. */
  readonly expiresInMs: number;
}

export interface UnitEpoch {
  readonly unitId: string;
  readonly epoch: Epoch;
}

export type UnitLostReason =
  /** No owner: released, never granted, or Redis lost its data (restart without persistence). */
  | "no-owner"
  /** Granted to another agent. */
  | "other-owner"
  /** Granted again (to this agent or another) with another epoch. */
  | "stale-epoch"
  /** The coordinator revoked it for a planned move: stop it and release it. */
  | "revoked"
  /** Another live process uses this agent id; nothing was renewed. */
  | "instance-conflict";

export type UnitRenewal =
  | { readonly unitId: string; readonly epoch: Epoch; readonly ok: true }
  | {
      readonly unitId: string;
      readonly epoch: Epoch;
      readonly ok: false;
      readonly reason: UnitLostReason;
    };

export interface RenewUnitsResult {
  readonly agent: AgentLiveness;
  /** In the order given. */
  readonly units: readonly UnitRenewal[];
  /** How many units are lost. */
  readonly lost: number;
}

/** Proof that the caller is the current coordinator leader; see LeaderTerm.fence. */
export interface LeaderFence {
  readonly key: string;
  readonly token: string;
}

export interface GrantOptions {
  /**
   * The highest epoch found in the unit's progress records in the target cluster (NO_EPOCH if
   * none); at most MAX_SCRIPT_EPOCH.
   * The new epoch is above both it and the epoch Redis remembers: Redis may have come back
   * empty, and only the target cluster still knows which epochs were used.
   */
  readonly minEpoch: Epoch;
  /** Extra wait after the owner's lease ended (LeasesConfig.graceMs). */
  readonly graceMs: number;
  /**
   * The agents' lease TTL (LeasesConfig.ttlMs). Bounds how long an owner may still trust a unit
   * whose liveness Redis no longer knows (after an empty restart, or a revoke).
   */
  readonly ttlMs: number;
  /** Refuse ("not-leader") unless this leader lease is still held by its token. */
  readonly fence?: LeaderFence;
}

export type GrantRefusal =
  /** The owner is live and has not released the unit. */
  | "owner-live"
  /** The owner's lease ended less than grace ago. */
  | "grace"
  /** Revoked, but the owner neither released it nor can be sure to have stopped yet. */
  | "revoking"
  /** Redis came back empty less than ttl + grace ago; an old owner may still be running. */
  | "recovering"
  /** The agent to grant to has no liveness key. */
  | "agent-not-live"
  /** The fence given is not the current leader. */
  | "not-leader";

export type GrantReason =
  /** Never granted in this Redis's memory. */
  | "free"
  | "released"
  /** The owner's lease ended more than grace ago. */
  | "expired"
  /** Revoked more than ttl + grace ago and not released. */
  | "revoked"
  /** The agent already owns it: same epoch, nothing changed. */
  | "already-owner"
  /**
   * The agent already owned it, but with an epoch below minEpoch (Redis lost writes, e.g. in a
   * failover): new epoch; renewals of the old one answer "stale-epoch".
   */
  | "re-epoch";

export type GrantResult =
  | {
      readonly granted: true;
      /** The fencing epoch the new owner writes with. */
      readonly epoch: Epoch;
      readonly reason: GrantReason;
      /** The owner it was taken from, for "expired" and "revoked". */
      readonly previousOwner?: string;
    }
  | {
      readonly granted: false;
      /** The unit's last granted epoch (NO_EPOCH if none). */
      readonly epoch: Epoch;
      readonly reason: GrantRefusal;
      readonly currentOwner?: string;
      /** For "grace", "revoking" and "recovering": when a retry can succeed. */
      readonly retryInMs?: number;
    };

export interface RevokeOptions {
  /** Revoke only if this agent still owns it. */
  readonly owner?: string;
  /** Revoke only if this epoch is still current. */
  readonly epoch?: Epoch;
  readonly fence?: LeaderFence;
}

export interface RevokeResult {
  readonly revoked: boolean;
  readonly reason: "revoked" | "already-revoked" | "no-owner" | "owner-mismatch" | "not-leader";
  readonly epoch: Epoch;
  readonly owner?: string;
}

export interface ReleaseResult {
  readonly released: boolean;
  readonly reason: "released" | "no-owner" | "not-owner";
  /** The unit's current epoch. */
  readonly epoch: Epoch;
  /** The owner when it is someone else. */
  readonly owner?: string;
}

export interface UnitState {
  readonly unitId: string;
  /** Last granted epoch; NO_EPOCH if never granted in this Redis's memory. */
  readonly epoch: Epoch;
  readonly owner?: string;
  /** Redis time, ms. */
  readonly grantedAt?: number;
  readonly revokedAt?: number;
  readonly releasedAt?: number;
}

export interface LeaseStoreOptions {
  /** A client from @geo/redis createRedisClient (or any ioredis client). Not closed by the store. */
  readonly redis: Redis;
  /** RedisConfig.keyPrefix; every key of the store starts with it. */
  readonly keyPrefix: string;
}

export interface LeaseStore {
  readonly keys: LeaseKeys;
  /** Creates or renews the agent's liveness key (PX ttlMs). */
  registerAgent(agentId: string, ttlMs: number, info: AgentInfo): Promise<AgentLiveness>;
  /** Same as registerAgent: a renewal recreates a key that Redis lost. */
  renewAgent(agentId: string, ttlMs: number, info: AgentInfo): Promise<AgentLiveness>;
  /** Agents whose liveness key exists, optionally of one region, sorted by id. */
  listLiveAgents(region?: string): Promise<LiveAgent[]>;
  /** Coordinator: grants a unit to a live agent with a new fencing epoch (one Lua script). */
  grantUnit(unitId: string, agentId: string, options: GrantOptions): Promise<GrantResult>;
  /** Coordinator: starts a planned move; the owner's renewals answer "revoked" from now on. */
  revokeUnit(unitId: string, options?: RevokeOptions): Promise<RevokeResult>;
  /** Agent: gives back a unit it stopped writing; only the owner of that epoch can. */
  releaseUnit(unitId: string, agentId: string, epoch: Epoch): Promise<ReleaseResult>;
  /**
   * Agent: renews its liveness and checks all its units in one EVALSHA. Record the renew's send
   * time with a LeaseClock before calling, and stop every unit that comes back lost.
   */
  renewUnits(
    agentId: string,
    units: readonly UnitEpoch[],
    ttlMs: number,
    info: AgentInfo,
  ): Promise<RenewUnitsResult>;
  /** Current state of units, for status pages and tests; undefined for unknown units. */
  getUnits(unitIds: readonly string[]): Promise<(UnitState | undefined)[]>;
}
