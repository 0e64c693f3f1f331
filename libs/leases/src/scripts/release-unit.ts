import { LUA_PRELUDE } from "./lua-prelude";

/**
 * The owner gives a unit back after it stopped writing it. Only the owner of that very epoch
 * may: a stale owner's late release must not free a successor's unit. The epoch counter stays.
 *
 * KEYS: unit, era. ARGV: agent id, epoch.
 * Reply: {released 0|1, reason, epoch, owner or ''}.
 */
export const RELEASE_UNIT = `${LUA_PRELUDE}
local now = now_ms()
mark_era(KEYS[2], now)
local u = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
local epoch = int(tonumber(u[2]) or 0)
if not u[1] then
  return {0, 'no-owner', epoch, ''}
end
if u[1] ~= ARGV[1] or tonumber(u[2]) ~= tonumber(ARGV[2]) then
  return {0, 'not-owner', epoch, u[1]}
end
redis.call('HDEL', KEYS[1], 'owner', 'grantedAt', 'revokedAt', 'deadSeenAt')
redis.call('HSET', KEYS[1], 'releasedAt', int(now))
return {1, 'released', epoch, ''}
`;
