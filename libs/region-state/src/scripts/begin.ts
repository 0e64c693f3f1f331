import { PRELUDE } from "./prelude";

/**
 * Takes a group's transition lock, compare-and-set on the epoch. A lock whose deadline passed
 * (its service stopped) is recorded as abandoned first and no longer blocks.
 *
 * ARGV: expected epoch, lock JSON (id, kind, toRegion, actor, reason, dryRun, steps), phase
 * while running, lock ttl ms, history max.
 * Reply: {status, state JSON, abandoned record JSON or ''}; status is ok | missing | busy |
 * stale | already-active.
 */
export const BEGIN = `${PRELUDE}
local current_json = redis.call('GET', KEYS[1])
if not current_json then return {'missing', '', ''} end
local state = cjson.decode(current_json)
local now = now_ms()
local abandoned = ''
if type(state.transition) == 'table' then
  if state.transition.expiresAtMs > now then return {'busy', current_json, ''} end
  local record = state.transition
  state.phase = record.phaseBefore
  record.expiresAtMs = nil
  record.phaseBefore = nil
  record.outcome = 'abandoned'
  record.endTimeMs = now
  record.error = 'the transition lock expired: the service running it stopped or lost Redis'
  abandoned = cjson.encode(record)
  remember(abandoned, ARGV[5])
  state.transition = nil
  state.revision = state.revision + 1
  state.updateTimeMs = now
  current_json = publish(state)
end
if state.epoch ~= tonumber(ARGV[1]) then return {'stale', current_json, abandoned} end
local lock = cjson.decode(ARGV[2])
if lock.toRegion == state.activeRegion then return {'already-active', current_json, abandoned} end
lock.startTimeMs = now
lock.expiresAtMs = now + tonumber(ARGV[4])
lock.phaseBefore = state.phase
lock.epochBefore = state.epoch
lock.epochAfter = state.epoch
lock.fromRegion = state.activeRegion
lock.outcome = 'running'
state.transition = lock
state.phase = ARGV[3]
state.revision = state.revision + 1
state.updateTimeMs = now
return {'ok', publish(state), abandoned}
`;
