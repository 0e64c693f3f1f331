import { LUA_PRELUDE } from "./lua-prelude";

/**
 * The coordinator grants a unit to a live agent with a new fencing epoch.
 *
 * Allowed when the unit has no owner (never granted, or released), or its owner is the same
 * live agent (idempotent, same epoch; a new one if minEpoch shows the target cluster saw a
 * higher epoch), or the owner's lease has certainly ended:
 * - owner dead: its last liveness deadline (agents index) + grace has passed;
 * - owner live but revoked: the owner has not renewed the unit since the revoke, so its trust
 *   ends by revokedAt + ttl; grant after revokedAt + ttl + grace.
 * A unit unknown to a keyspace that came up empty less than ttl + grace ago is refused
 * ("recovering"): an owner from before the loss may still trust its lease that long.
 *
 * New epoch = max(last epoch of the unit here, ARGV minEpoch) + 1, so an empty Redis never hands
 * out an epoch that progress records in the target cluster already carry.
 *
 * KEYS: unit, era, agents index, target agent, [leader key]. ARGV: agent id, min epoch,
 * grace ms, ttl ms, agent key prefix, leader token.
 * Reply: {granted 0|1, reason, epoch, owner or '', retry in ms}.
 */
export const GRANT_UNIT = `${LUA_PRELUDE}
local now = now_ms()
mark_era(KEYS[2], now)
local agent = ARGV[1]
local min_epoch = tonumber(ARGV[2])
local grace = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local u = redis.call('HMGET', KEYS[1], 'epoch', 'owner', 'revokedAt', 'deadSeenAt')
local epoch = tonumber(u[1]) or 0
local owner = u[2]
if #KEYS >= 5 and redis.call('GET', KEYS[5]) ~= ARGV[6] then
  return {0, 'not-leader', int(epoch), owner or '', '0'}
end
if redis.call('EXISTS', KEYS[4]) == 0 then
  return {0, 'agent-not-live', int(epoch), owner or '', '0'}
end
local reason
if owner then
  local owner_key = ARGV[5] .. owner
  local revoked_at = tonumber(u[3])
  if redis.call('EXISTS', owner_key) == 1 then
    if not revoked_at then
      if owner ~= agent then
        return {0, 'owner-live', int(epoch), owner, '0'}
      end
      if epoch >= min_epoch then
        return {1, 'already-owner', int(epoch), owner, '0'}
      end
      -- The target cluster has seen a higher epoch than Redis remembers (writes lost in a
      -- failover): renumber; the owner's renewals of the old epoch now answer stale-epoch.
      reason = 're-epoch'
    else
      local owner_ttl = tonumber(redis.call('HGET', owner_key, 'ttlMs')) or ttl
      local free_at = revoked_at + math.max(owner_ttl, ttl) + grace
      if now < free_at then
        return {0, 'revoking', int(epoch), owner, int(free_at - now)}
      end
      reason = 'revoked'
    end
  else
    local free_at
    local dead_at = tonumber(redis.call('ZSCORE', KEYS[3], owner))
    if dead_at then
      free_at = dead_at + grace
    else
      -- No record of when the owner's lease ended: count a whole TTL from the first look.
      local seen = tonumber(u[4])
      if not seen then
        seen = now
        redis.call('HSET', KEYS[1], 'deadSeenAt', int(now))
      end
      free_at = seen + ttl + grace
    end
    if now < free_at then
      return {0, 'grace', int(epoch), owner, int(free_at - now)}
    end
    reason = 'expired'
  end
elseif u[1] then
  reason = 'released'
else
  local free_at = tonumber(redis.call('GET', KEYS[2])) + ttl + grace
  if now < free_at then
    return {0, 'recovering', '0', '', int(free_at - now)}
  end
  reason = 'free'
end
local new_epoch = math.max(epoch, min_epoch) + 1
redis.call('HSET', KEYS[1], 'epoch', int(new_epoch), 'owner', agent, 'grantedAt', int(now))
redis.call('HDEL', KEYS[1], 'revokedAt', 'deadSeenAt', 'releasedAt')
return {1, reason, int(new_epoch), owner or '', '0'}
`;
