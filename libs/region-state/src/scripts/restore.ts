import { PRELUDE } from "./prelude";

/**
 * Puts a state into Redis unless Redis already holds the same or a later one (higher epoch, or
 * same epoch and higher revision): how an empty Redis learns the active region again from the
 * region topic, and how a group gets its initial state.
 *
 * ARGV: candidate state JSON. Reply: {1, state} restored | {0, state} Redis's was as new.
 */
export const RESTORE = `${PRELUDE}
local candidate = cjson.decode(ARGV[1])
local current_json = redis.call('GET', KEYS[1])
if current_json then
  local current = cjson.decode(current_json)
  if current.epoch > candidate.epoch or
     (current.epoch == candidate.epoch and current.revision >= candidate.revision) then
    return {0, current_json}
  end
end
return {1, publish(candidate)}
`;
