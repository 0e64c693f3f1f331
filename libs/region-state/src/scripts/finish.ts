import { PRELUDE } from "./prelude";

/**
 * Ends the transition holding the lock: with `flip`, the lock's target becomes the active
 * region under a new epoch; without, the phase returns to what it was. The record goes to the
 * history and becomes the state's lastTransition.
 *
 * ARGV: transition id, result JSON (outcome, flip, phase, rtoMs, rpoRecords, recordsAtRisk,
 * checkpointAges, diverged, error), history max.
 * Reply: {status, state JSON, record JSON}; status is ok | lost.
 */
export const FINISH = `${PRELUDE}
local current_json = redis.call('GET', KEYS[1])
if not current_json then return {'lost', '', ''} end
local state = cjson.decode(current_json)
if type(state.transition) ~= 'table' or state.transition.id ~= ARGV[1] then
  return {'lost', current_json, ''}
end
local now = now_ms()
local result = cjson.decode(ARGV[2])
local record = state.transition
local phase_before = record.phaseBefore
record.expiresAtMs = nil
record.phaseBefore = nil
record.outcome = result.outcome
record.endTimeMs = now
record.rtoMs = result.rtoMs
record.rpoRecords = result.rpoRecords
record.recordsAtRisk = result.recordsAtRisk
record.checkpointAges = result.checkpointAges
record.diverged = result.diverged
record.error = result.error
if result.flip then
  state.previousActiveRegion = state.activeRegion
  state.activeRegion = record.toRegion
  state.epoch = state.epoch + 1
  state.phase = result.phase
  state.updatedBy = record.actor
  state.reason = record.reason
else
  state.phase = phase_before
end
record.epochAfter = state.epoch
state.transition = nil
state.lastTransition = record
state.revision = state.revision + 1
state.updateTimeMs = now
local record_json = cjson.encode(record)
remember(record_json, ARGV[3])
return {'ok', publish(state), record_json}
`;

/**
 * Adds a finished record (a drill) to the history without touching the state.
 * ARGV: record JSON, history max. Reply: the record JSON with its end time.
 */
export const RECORD = `${PRELUDE}
local record = cjson.decode(ARGV[1])
record.endTimeMs = now_ms()
local json = cjson.encode(record)
remember(json, ARGV[2])
return json
`;
