import { HEARTBEAT_STEP } from "./agent-heartbeat";
import { LUA_PRELUDE } from "./lua-prelude";

/** Per-unit answers of RENEW_UNITS, one character each. */
export const RENEW_CODES = {
  "0": "ok",
  "1": "no-owner",
  "2": "other-owner",
  "3": "stale-epoch",
  "4": "revoked",
} as const;

/**
 * An agent renews its liveness and checks every unit it runs in one round trip. A unit stays
 * the agent's only while its owner field names this agent, its epoch is the one the agent
 * runs, and no revoke is pending; any other answer means the agent must stop it at once.
 * Nothing is written per unit: a unit's lease lives as long as its owner's liveness, which
 * keeps a renew of 1,000 units at 1,000 HMGETs.
 *
 * KEYS: agent, agents index, era, unit 1..n. ARGV: agent id, instance, region, ttl ms,
 * info JSON, epoch 1..n.
 * Reply: {0, live instance, its pttl} when another instance holds the agent id (nothing
 * renewed), else {1, created, codes} with one RENEW_CODES character per unit.
 */
export const RENEW_UNITS = `${LUA_PRELUDE}
${HEARTBEAT_STEP}
local agent = ARGV[1]
local codes = {}
for i = 4, #KEYS do
  local u = redis.call('HMGET', KEYS[i], 'owner', 'epoch', 'revokedAt')
  local code
  if not u[1] then
    code = '1'
  elseif u[1] ~= agent then
    code = '2'
  elseif tonumber(u[2]) ~= tonumber(ARGV[i + 2]) then
    code = '3'
  elseif u[3] then
    code = '4'
  else
    code = '0'
  end
  codes[i - 3] = code
end
return {1, a and 1 or 0, table.concat(codes)}
`;
