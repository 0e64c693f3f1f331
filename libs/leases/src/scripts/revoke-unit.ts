import { LUA_PRELUDE } from "./lua-prelude";

/**
 * The coordinator starts a planned move: from now on the owner's renewals of the unit answer
 * "revoked", so the owner stops it at the latest when its local deadline passes; it should stop
 * and release it sooner. A grant to another agent succeeds at once after the release, or after
 * revokedAt + ttl + grace without one.
 *
 * KEYS: unit, era, [leader key]. ARGV: expected owner or '', expected epoch or '', leader token.
 * Reply: {revoked 0|1, reason, epoch, owner or ''}.
 */
export const REVOKE_UNIT = `${LUA_PRELUDE}
local now = now_ms()
mark_era(KEYS[2], now)
local u = redis.call('HMGET', KEYS[1], 'owner', 'epoch', 'revokedAt')
local epoch = int(tonumber(u[2]) or 0)
if #KEYS >= 3 and redis.call('GET', KEYS[3]) ~= ARGV[3] then
  return {0, 'not-leader', epoch, u[1] or ''}
end
if not u[1] then
  return {0, 'no-owner', epoch, ''}
end
if (ARGV[1] ~= '' and u[1] ~= ARGV[1]) or (ARGV[2] ~= '' and tonumber(u[2]) ~= tonumber(ARGV[2])) then
  return {0, 'owner-mismatch', epoch, u[1]}
end
if u[3] then
  return {1, 'already-revoked', epoch, u[1]}
end
redis.call('HSET', KEYS[1], 'revokedAt', int(now))
return {1, 'revoked', epoch, u[1]}
`;
