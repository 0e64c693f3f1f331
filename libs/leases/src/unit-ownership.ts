import type { Epoch } from "@geo/positions";
import type { LeaseKeys } from "./keys";
import type {
  GrantOptions,
  GrantReason,
  GrantRefusal,
  GrantResult,
  LeaderFence,
  ReleaseResult,
  RevokeOptions,
  RevokeResult,
} from "./lease-store-types";
import { tuple } from "./script-reply";
import type { RunScript } from "./scripts";
import { checkEpoch, checkId, checkInt, checkTtl, MAX_TTL_MS, replyEpoch } from "./validate";

// The coordinator's grant and revoke and the agent's release: each one script on the unit's hash.

/** LeaseStore.grantUnit. */
export async function grantUnit(
  run: RunScript,
  keys: LeaseKeys,
  unitId: string,
  agentId: string,
  grant: GrantOptions,
): Promise<GrantResult> {
  checkId("unitId", unitId);
  checkId("agentId", agentId);
  const minEpoch = checkEpoch("minEpoch", grant?.minEpoch);
  const graceMs = checkInt("graceMs", grant.graceMs, 0, MAX_TTL_MS);
  const ttlMs = checkTtl("ttlMs", grant.ttlMs);
  const fence = grant.fence === undefined ? undefined : checkFence(grant.fence);
  const reply = await run(
    "geoLeaseGrantUnit",
    [keys.unit(unitId), keys.era, keys.agents, keys.agent(agentId), ...(fence ? [fence.key] : [])],
    [agentId, minEpoch, graceMs, ttlMs, keys.agentPrefix, fence?.token ?? ""],
  );
  const [granted, reason, epoch, owner, retryInMs] = tuple(reply, 5, "geoLeaseGrantUnit");
  if (granted === 1) {
    return {
      granted: true,
      epoch: replyEpoch("geoLeaseGrantUnit epoch", epoch),
      reason: reason as GrantReason,
      ...(owner !== "" && owner !== agentId ? { previousOwner: String(owner) } : {}),
    };
  }
  const retry = Number(retryInMs);
  return {
    granted: false,
    epoch: replyEpoch("geoLeaseGrantUnit epoch", epoch),
    reason: reason as GrantRefusal,
    ...(owner !== "" ? { currentOwner: String(owner) } : {}),
    ...(retry > 0 ? { retryInMs: retry } : {}),
  };
}

/** LeaseStore.revokeUnit. */
export async function revokeUnit(
  run: RunScript,
  keys: LeaseKeys,
  unitId: string,
  revoke: RevokeOptions = {},
): Promise<RevokeResult> {
  checkId("unitId", unitId);
  if (revoke.owner !== undefined) checkId("owner", revoke.owner);
  const expected = revoke.epoch === undefined ? "" : checkEpoch("epoch", revoke.epoch);
  const fence = revoke.fence === undefined ? undefined : checkFence(revoke.fence);
  const reply = await run(
    "geoLeaseRevokeUnit",
    [keys.unit(unitId), keys.era, ...(fence ? [fence.key] : [])],
    [revoke.owner ?? "", expected, fence?.token ?? ""],
  );
  const [revoked, reason, epoch, owner] = tuple(reply, 4, "geoLeaseRevokeUnit");
  return {
    revoked: revoked === 1,
    reason: reason as RevokeResult["reason"],
    epoch: replyEpoch("geoLeaseRevokeUnit epoch", epoch),
    ...(owner !== "" ? { owner: String(owner) } : {}),
  };
}

/** LeaseStore.releaseUnit. */
export async function releaseUnit(
  run: RunScript,
  keys: LeaseKeys,
  unitId: string,
  agentId: string,
  epoch: Epoch,
): Promise<ReleaseResult> {
  checkId("unitId", unitId);
  checkId("agentId", agentId);
  const held = checkEpoch("epoch", epoch);
  const reply = await run("geoLeaseReleaseUnit", [keys.unit(unitId), keys.era], [agentId, held]);
  const [released, reason, current, owner] = tuple(reply, 4, "geoLeaseReleaseUnit");
  return {
    released: released === 1,
    reason: reason as ReleaseResult["reason"],
    epoch: replyEpoch("geoLeaseReleaseUnit epoch", current),
    ...(owner !== "" ? { owner: String(owner) } : {}),
  };
}

function checkFence(fence: LeaderFence): LeaderFence {
  checkId("fence.key", fence?.key);
  checkId("fence.token", fence.token);
  return fence;
}
