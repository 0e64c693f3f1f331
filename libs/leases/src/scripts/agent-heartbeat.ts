import { LUA_PRELUDE } from "./lua-prelude";

/**
 * Register or renew an agent's liveness.
 * KEYS: agent, agents index, era. ARGV: agent id, instance, region, ttl ms, info JSON.
 * Reply: {1, created} or {0, live instance, its pttl}.
 */
/**
 * How AGENT_HEARTBEAT and RENEW_UNITS begin (KEYS 1-3, ARGV 1-5 as above): marks the era and
 * renews the agent's liveness, or returns {0, live instance, its pttl} when another instance
 * holds the agent id. Leaves `now` and `a` (true when the agent was created) in scope.
 */
export const HEARTBEAT_STEP = `local now = now_ms()
mark_era(KEYS[3], now)
local ok, a, b = heartbeat(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], now)
if not ok then
  return {0, a, b}
end`;

export const AGENT_HEARTBEAT = `${LUA_PRELUDE}
${HEARTBEAT_STEP}
return {1, a and 1 or 0}
`;
