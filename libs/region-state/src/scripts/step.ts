import { PRELUDE } from "./prelude";

/**
 * Records a finished step of the transition holding the lock, renews the lock, and optionally
 * moves the phase (a phase change is published to watchers; a step alone is not).
 *
 * ARGV: transition id, step JSON or '', phase or '', lock ttl ms.
 * Reply: {status, state JSON}; status is ok | lost (another transition or none holds the lock).
 */
export const STEP = `${PRELUDE}
local current_json = redis.call('GET', KEYS[1])
if not current_json then return {'lost', ''} end
local state = cjson.decode(current_json)
if type(state.transition) ~= 'table' or state.transition.id ~= ARGV[1] then
  return {'lost', current_json}
end
local now = now_ms()
if ARGV[2] ~= '' then
  local steps = state.transition.steps
  if type(steps) ~= 'table' then steps = {} end
  table.insert(steps, cjson.decode(ARGV[2]))
  state.transition.steps = steps
end
state.transition.expiresAtMs = now + tonumber(ARGV[4])
if ARGV[3] ~= '' and ARGV[3] ~= state.phase then
  state.phase = ARGV[3]
  state.revision = state.revision + 1
  state.updateTimeMs = now
  return {'ok', publish(state)}
end
local json = cjson.encode(state)
redis.call('SET', KEYS[1], json)
return {'ok', json}
`;
