import type { Epoch } from "@geo/positions";
import type { Redis } from "ioredis";
import { type LeaseKeys, leaseKeys } from "./keys";
import { LeaseError, toLeaseError } from "./lease-error";
import { type RunScript, scriptRunner } from "./scripts";
import { RENEW_CODES } from "./scripts/renew-units";
import { checkEpoch, checkId, checkInt, checkTtl, MAX_TTL_MS, replyEpoch } from "./validate";

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

/** Most units one renewUnits call accepts; above this, split the batch. */
export const MAX_RENEW_BATCH = 20_000;

export function createLeaseStore(options: LeaseStoreOptions): LeaseStore {
  const { redis } = options;
  if (typeof options.keyPrefix !== "string") {
    throw new LeaseError("INVALID_ARGUMENT", "keyPrefix must be a string (RedisConfig.keyPrefix)");
  }
  const keys = leaseKeys(options.keyPrefix);
  const run: RunScript = scriptRunner(redis);

  const heartbeat = async (agentId: string, ttlMs: number, info: AgentInfo) => {
    const args = agentArgs(agentId, ttlMs, info);
    const reply = await run(
      "geoLeaseAgentHeartbeat",
      [keys.agent(agentId), keys.agents, keys.era],
      args,
    );
    return parseLiveness(reply);
  };

  return {
    keys,
    registerAgent: heartbeat,
    renewAgent: heartbeat,

    async listLiveAgents(region) {
      if (region !== undefined) checkId("region", region);
      let ids: string[];
      try {
        // Redis time, not ours: deadlines in the index were computed with it.
        const [seconds, micros] = await redis.time();
        const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
        ids = await redis.zrangebyscore(keys.agents, `(${now}`, "+inf");
      } catch (error) {
        throw toLeaseError("listLiveAgents", error);
      }
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hgetall(keys.agent(id)).pttl(keys.agent(id));
      let replies: [Error | null, unknown][] | null;
      try {
        replies = await pipeline.exec();
      } catch (error) {
        throw toLeaseError("listLiveAgents", error);
      }
      const agents: LiveAgent[] = [];
      ids.forEach((agentId, i) => {
        const [hashError, hash] = replies?.[2 * i] ?? [null, {}];
        const [, pttl] = replies?.[2 * i + 1] ?? [null, -2];
        if (hashError) throw toLeaseError("listLiveAgents", hashError);
        const fields = hash as Record<string, string>;
        // The key may have expired between the index read and now.
        if (fields.instance === undefined || typeof pttl !== "number" || pttl <= 0) return;
        const agentRegion = fields.region ?? "";
        if (region !== undefined && agentRegion !== region) return;
        agents.push({
          agentId,
          region: agentRegion,
          instance: fields.instance,
          info: parseInfo(fields.info, agentRegion, fields.instance),
          expiresInMs: pttl,
        });
      });
      return agents.sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
    },

    async grantUnit(unitId, agentId, grant) {
      checkId("unitId", unitId);
      checkId("agentId", agentId);
      const minEpoch = checkEpoch("minEpoch", grant?.minEpoch);
      const graceMs = checkInt("graceMs", grant.graceMs, 0, MAX_TTL_MS);
      const ttlMs = checkTtl("ttlMs", grant.ttlMs);
      const fence = grant.fence === undefined ? undefined : checkFence(grant.fence);
      const reply = await run(
        "geoLeaseGrantUnit",
        [
          keys.unit(unitId),
          keys.era,
          keys.agents,
          keys.agent(agentId),
          ...(fence ? [fence.key] : []),
        ],
        [agentId, minEpoch, graceMs, ttlMs, keys.agentPrefix, fence?.token ?? ""],
      );
      const [granted, reason, epoch, owner, retryInMs] = tuple(reply, 5, "geoLeaseGrantUnit");
      if (granted === 1) {
        return {
          granted: true,
          epoch: replyEpoch("geoLeaseGrantUnit epoch", epoch),
          reason: reason as GrantReason,
          ...(owner !== "" && owner !== agentId ? { previousOwner: String(owner) } : {}),
        };
      }
      const retry = Number(retryInMs);
      return {
        granted: false,
        epoch: replyEpoch("geoLeaseGrantUnit epoch", epoch),
        reason: reason as GrantRefusal,
        ...(owner !== "" ? { currentOwner: String(owner) } : {}),
        ...(retry > 0 ? { retryInMs: retry } : {}),
      };
    },

    async revokeUnit(unitId, revoke = {}) {
      checkId("unitId", unitId);
      if (revoke.owner !== undefined) checkId("owner", revoke.owner);
      const expected = revoke.epoch === undefined ? "" : checkEpoch("epoch", revoke.epoch);
      const fence = revoke.fence === undefined ? undefined : checkFence(revoke.fence);
      const reply = await run(
        "geoLeaseRevokeUnit",
        [keys.unit(unitId), keys.era, ...(fence ? [fence.key] : [])],
        [revoke.owner ?? "", expected, fence?.token ?? ""],
      );
      const [revoked, reason, epoch, owner] = tuple(reply, 4, "geoLeaseRevokeUnit");
      return {
        revoked: revoked === 1,
        reason: reason as RevokeResult["reason"],
        epoch: replyEpoch("geoLeaseRevokeUnit epoch", epoch),
        ...(owner !== "" ? { owner: String(owner) } : {}),
      };
    },

    async releaseUnit(unitId, agentId, epoch) {
      checkId("unitId", unitId);
      checkId("agentId", agentId);
      const held = checkEpoch("epoch", epoch);
      const reply = await run(
        "geoLeaseReleaseUnit",
        [keys.unit(unitId), keys.era],
        [agentId, held],
      );
      const [released, reason, current, owner] = tuple(reply, 4, "geoLeaseReleaseUnit");
      return {
        released: released === 1,
        reason: reason as ReleaseResult["reason"],
        epoch: replyEpoch("geoLeaseReleaseUnit epoch", current),
        ...(owner !== "" ? { owner: String(owner) } : {}),
      };
    },

    async renewUnits(agentId, units, ttlMs, info) {
      const args = agentArgs(agentId, ttlMs, info);
      if (!Array.isArray(units) || units.length > MAX_RENEW_BATCH) {
        throw new LeaseError(
          "INVALID_ARGUMENT",
          `units must be an array of at most ${MAX_RENEW_BATCH} { unitId, epoch }`,
        );
      }
      const unitKeys: string[] = new Array(units.length);
      const epochs: string[] = new Array(units.length);
      units.forEach((unit, i) => {
        unitKeys[i] = keys.unit(checkId(`units[${i}].unitId`, unit?.unitId));
        epochs[i] = checkEpoch(`units[${i}].epoch`, unit.epoch);
      });
      const reply = await run(
        "geoLeaseRenewUnits",
        [keys.agent(agentId), keys.agents, keys.era, ...unitKeys],
        [...args, ...epochs],
      );
      const agent = parseLiveness(reply);
      if (!agent.ok) {
        return {
          agent,
          units: units.map(({ unitId, epoch }) => ({
            unitId,
            epoch,
            ok: false,
            reason: "instance-conflict",
          })),
          lost: units.length,
        };
      }
      const codes = String((reply as unknown[])[2] ?? "");
      if (codes.length !== units.length) {
        throw new LeaseError(
          "UNEXPECTED_REPLY",
          `geoLeaseRenewUnits answered ${codes.length} codes for ${units.length} units`,
        );
      }
      let lost = 0;
      const results = units.map(({ unitId, epoch }, i): UnitRenewal => {
        const code = codes[i] as keyof typeof RENEW_CODES;
        const answer = RENEW_CODES[code];
        if (answer === "ok") return { unitId, epoch, ok: true };
        lost++;
        return { unitId, epoch, ok: false, reason: answer };
      });
      return { agent, units: results, lost };
    },

    async getUnits(unitIds) {
      for (const [i, id] of unitIds.entries()) checkId(`unitIds[${i}]`, id);
      if (unitIds.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of unitIds) pipeline.hgetall(keys.unit(id));
      let replies: [Error | null, unknown][] | null;
      try {
        replies = await pipeline.exec();
      } catch (error) {
        throw toLeaseError("getUnits", error);
      }
      return unitIds.map((unitId, i) => {
        const [error, hash] = replies?.[i] ?? [null, {}];
        if (error) throw toLeaseError("getUnits", error);
        const fields = hash as Record<string, string>;
        if (fields.epoch === undefined) return undefined;
        const time = (value: string | undefined) =>
          value === undefined ? undefined : Number(value);
        const state: UnitState = {
          unitId,
          epoch: replyEpoch(`${unitId} epoch`, fields.epoch),
          ...(fields.owner !== undefined ? { owner: fields.owner } : {}),
          ...(fields.grantedAt !== undefined ? { grantedAt: time(fields.grantedAt) } : {}),
          ...(fields.revokedAt !== undefined ? { revokedAt: time(fields.revokedAt) } : {}),
          ...(fields.releasedAt !== undefined ? { releasedAt: time(fields.releasedAt) } : {}),
        };
        return state;
      });
    },
  };
}

function agentArgs(agentId: string, ttlMs: number, info: AgentInfo): (string | number)[] {
  checkId("agentId", agentId);
  checkTtl("ttlMs", ttlMs);
  if (info === null || typeof info !== "object") {
    throw new LeaseError("INVALID_ARGUMENT", "info must be an object with region and instance");
  }
  checkId("info.region", info.region);
  checkId("info.instance", info.instance);
  let json: string;
  try {
    json = JSON.stringify(info);
  } catch (error) {
    throw new LeaseError("INVALID_ARGUMENT", `info is not JSON-serializable: ${String(error)}`);
  }
  return [agentId, info.instance, info.region, ttlMs, json];
}

function parseLiveness(reply: unknown): AgentLiveness {
  const [ok, a, b] = tuple(reply, 2, "agent heartbeat");
  if (ok === 1) return { ok: true, created: a === 1 };
  return {
    ok: false,
    reason: "instance-conflict",
    liveInstance: String(a),
    retryInMs: Math.max(0, Number(b)),
  };
}

function parseInfo(json: string | undefined, region: string, instance: string): AgentInfo {
  try {
    const parsed: unknown = JSON.parse(json ?? "{}");
    if (parsed !== null && typeof parsed === "object") return { ...parsed, region, instance };
  } catch {
    // A hand-edited or foreign value: keep what the fields say.
  }
  return { region, instance };
}

function checkFence(fence: LeaderFence): LeaderFence {
  checkId("fence.key", fence?.key);
  checkId("fence.token", fence.token);
  return fence;
}

function tuple(reply: unknown, min: number, what: string): unknown[] {
  if (!Array.isArray(reply) || reply.length < min) {
    throw new LeaseError("UNEXPECTED_REPLY", `${what} answered ${JSON.stringify(reply)}`);
  }
  return reply;
}
