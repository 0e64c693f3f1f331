/**
 * Helpers shared by the lease scripts. Time is always Redis's own (TIME): lease deadlines
 * written by one machine and compared by another must not depend on their clocks. Redis 5+
 * replicates script effects, so reading TIME before writing is allowed and replicas see the
 * same values.
 */
export const LUA_PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Lua 5.1 prints large numbers as 1e+15; keep every stored number an exact integer string.
local function int(n)
  return string.format('%.0f', n)
end

-- The first write into an empty keyspace records when it happened (see leaseKeys().era).
local function mark_era(era_key, now)
  redis.call('SET', era_key, int(now), 'NX')
end

-- Liveness of an agent process. A different live instance under the same id is refused, so
-- two processes that were given the same agent id cannot both hold its units.
-- Returns true, created | false, live_instance, pttl.
local function heartbeat(agent_key, index_key, agent_id, instance, region, ttl, info, now)
  local current = redis.call('HGET', agent_key, 'instance')
  if current and current ~= instance then
    return false, current, redis.call('PTTL', agent_key)
  end
  redis.call('HSET', agent_key, 'instance', instance, 'region', region, 'ttlMs', ttl, 'info', info)
  if not current then
    redis.call('HSET', agent_key, 'since', int(now))
  end
  redis.call('PEXPIRE', agent_key, ttl)
  -- The index keeps each agent's last deadline after its key expired: grants count the grace
  -- period from it. Entries dead for an hour are dropped.
  redis.call('ZADD', index_key, int(now + tonumber(ttl)), agent_id)
  redis.call('ZREMRANGEBYSCORE', index_key, '-inf', '(' .. int(now - 3600000))
  return true, not current
end
`;
