import { agentHeartbeat } from "./agent-liveness";
import { leaseKeys } from "./keys";
import { LeaseError } from "./lease-error";
import type { LeaseStore, LeaseStoreOptions } from "./lease-store-types";
import { listLiveAgents } from "./live-agents";
import { type RunScript, scriptRunner } from "./scripts";
import { grantUnit, releaseUnit, revokeUnit } from "./unit-ownership";
import { renewUnits } from "./unit-renewal";
import { getUnits } from "./unit-state";

/**
 * The lease store's parts, each in a file named after it: agent liveness (agent-liveness,
 * live-agents), unit ownership (unit-ownership), the agent's renewal (unit-renewal) and unit
 * state (unit-state). Every write is one Lua script, so Redis applies it atomically.
 */
export function createLeaseStore(options: LeaseStoreOptions): LeaseStore {
  const { redis } = options;
  if (typeof options.keyPrefix !== "string") {
    throw new LeaseError("INVALID_ARGUMENT", "keyPrefix must be a string (RedisConfig.keyPrefix)");
  }
  const keys = leaseKeys(options.keyPrefix);
  const run: RunScript = scriptRunner(redis);
  const heartbeat = agentHeartbeat(run, keys);
  return {
    keys,
    registerAgent: heartbeat,
    renewAgent: heartbeat,
    listLiveAgents: (region) => listLiveAgents(redis, keys, region),
    grantUnit: (unitId, agentId, grant) => grantUnit(run, keys, unitId, agentId, grant),
    revokeUnit: (unitId, revoke) => revokeUnit(run, keys, unitId, revoke),
    releaseUnit: (unitId, agentId, epoch) => releaseUnit(run, keys, unitId, agentId, epoch),
    renewUnits: (agentId, units, ttlMs, info) => renewUnits(run, keys, agentId, units, ttlMs, info),
    getUnits: (unitIds) => getUnits(redis, keys, unitIds),
  };
}
