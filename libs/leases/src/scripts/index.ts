import { defineScripts, type Redis, type ScriptRunner } from "@geo/redis";
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

export type RunScript = ScriptRunner<ScriptName>;

/** Defines the lease scripts on the client (once per client) and returns a runner. */
export function scriptRunner(redis: Redis): RunScript {
  return defineScripts(redis, SCRIPTS, toLeaseError);
}
