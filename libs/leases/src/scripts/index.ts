import type { Redis } from "ioredis";
import { toLeaseError } from "../lease-error";
import { AGENT_HEARTBEAT } from "./agent-heartbeat";
import { GRANT_UNIT } from "./grant-unit";
import { LEADER_ACQUIRE, LEADER_RELEASE, LEADER_RENEW } from "./leader";
import { RELEASE_UNIT } from "./release-unit";
import { RENEW_UNITS } from "./renew-units";
import { REVOKE_UNIT } from "./revoke-unit";

// Command names on the ioredis client; prefixed so they cannot clash with other libraries'.
const SCRIPTS = {
  geoLeaseAgentHeartbeat: AGENT_HEARTBEAT,
  geoLeaseRenewUnits: RENEW_UNITS,
  geoLeaseGrantUnit: GRANT_UNIT,
  geoLeaseRevokeUnit: REVOKE_UNIT,
  geoLeaseReleaseUnit: RELEASE_UNIT,
  geoLeaseLeaderAcquire: LEADER_ACQUIRE,
  geoLeaseLeaderRenew: LEADER_RENEW,
  geoLeaseLeaderRelease: LEADER_RELEASE,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

export type RunScript = (
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
) => Promise<unknown>;

/**
 * Defines the lease scripts on the client (once per client) and returns a runner. ioredis sends
 * EVALSHA and falls back to EVAL on NOSCRIPT, which is what a restarted Redis answers.
 */
export function scriptRunner(redis: Redis): RunScript {
  const commands = redis as unknown as Record<string, unknown>;
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    if (typeof commands[name] !== "function") redis.defineCommand(name, { lua });
  }
  return async (name, keys, args) => {
    const command = commands[name] as (...params: (string | number)[]) => Promise<unknown>;
    try {
      return await command.call(redis, keys.length, ...keys, ...args);
    } catch (error) {
      throw toLeaseError(name, error);
    }
  };
}
