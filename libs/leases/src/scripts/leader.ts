import { LUA_PRELUDE } from "./lua-prelude";

/**
 * Take the leader lease if nobody holds it (SET NX PX semantics) and bump the leader epoch.
 * The epoch lives in "<key>:state" (hash: epoch, since). When that hash is missing, Redis came
 * up empty (or this is the first election ever): the previous leader may still trust its lease
 * for up to a TTL, so nobody is elected before since + recovery ms.
 *
 * KEYS: leader key, state key. ARGV: token, ttl ms, min epoch, recovery ms.
 * Reply: {1, 'elected', epoch} | {0, 'held', holder token, pttl} | {0, 'recovering', '', retry ms}.
 */
export const LEADER_ACQUIRE = `${LUA_PRELUDE}
local now = now_ms()
local holder = redis.call('GET', KEYS[1])
if holder then
  return {0, 'held', holder, redis.call('PTTL', KEYS[1])}
end
local min_epoch = tonumber(ARGV[3])
local st = redis.call('HMGET', KEYS[2], 'epoch', 'since')
if not st[1] then
  st = {int(min_epoch), int(now)}
  redis.call('HSET', KEYS[2], 'epoch', st[1], 'since', st[2])
end
local ready_at = tonumber(st[2]) + tonumber(ARGV[4])
if now < ready_at then
  return {0, 'recovering', '', int(ready_at - now)}
end
local epoch = math.max(tonumber(st[1]), min_epoch) + 1
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], 'epoch', int(epoch))
return {1, 'elected', int(epoch)}
`;

/** Compare-and-pexpire. KEYS: leader key. ARGV: token, ttl ms. Reply: 1 renewed, 0 not ours. */
export const LEADER_RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** Compare-and-delete. KEYS: leader key. ARGV: token. Reply: 1 released, 0 not ours. */
export const LEADER_RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;
