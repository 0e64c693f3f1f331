/**
 * Where the lease protocol keeps its state. Every key starts with the installation's
 * RedisConfig.keyPrefix: @geo/redis deliberately does not apply it, because ioredis's automatic
 * prefixing misses keys that Lua scripts build.
 */
export interface LeaseKeys {
  /**
   * String: Redis time (ms) at which this keyspace was first written since Redis last came up.
   * Its absence means Redis lost everything (a restart without persistence, a new server).
   */
  readonly era: string;
  /** Sorted set: agent id -> Redis time (ms) its liveness lease ends (or ended). */
  readonly agents: string;
  /** Hash with PX TTL: an agent's liveness (instance, region, ttlMs, info). */
  agent(agentId: string): string;
  /** Prefix of agent(); scripts that learn an owner's id from a unit build its key with it. */
  readonly agentPrefix: string;
  /** Hash without TTL: a unit's owner and fencing epoch. */
  unit(unitId: string): string;
}

export function leaseKeys(keyPrefix: string): LeaseKeys {
  const agentPrefix = `${keyPrefix}lease:agent:`;
  return {
    era: `${keyPrefix}lease:era`,
    agents: `${keyPrefix}lease:agents`,
    agentPrefix,
    agent: (agentId) => `${agentPrefix}${agentId}`,
    unit: (unitId) => `${keyPrefix}lease:unit:${unitId}`,
  };
}
