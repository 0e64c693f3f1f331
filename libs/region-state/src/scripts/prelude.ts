/**
 * Helpers of every region-state script. KEYS are always: 1 the group's state (JSON string),
 * 2 the stream of changes every health service tails, 3 the group's history list (newest first).
 * Time is Redis's own, so lock deadlines do not depend on the health services' clocks.
 */
export const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Stores the state and appends it to the change stream (every watcher sees it, in order).
local function publish(state)
  local json = cjson.encode(state)
  redis.call('SET', KEYS[1], json)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000', '*', 'group', state.flowGroup, 'state', json)
  return json
end

local function remember(record_json, history_max)
  redis.call('LPUSH', KEYS[3], record_json)
  redis.call('LTRIM', KEYS[3], 0, tonumber(history_max) - 1)
end
`;
