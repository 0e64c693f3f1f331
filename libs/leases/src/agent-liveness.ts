import type { LeaseKeys } from "./keys";
import { LeaseError } from "./lease-error";
import type { AgentInfo, AgentLiveness } from "./lease-store-types";
import { tuple } from "./script-reply";
import type { RunScript } from "./scripts";
import { checkId, checkTtl } from "./validate";

/** registerAgent and renewAgent: one heartbeat script creates or renews the liveness key. */
export function agentHeartbeat(
  run: RunScript,
  keys: LeaseKeys,
): (agentId: string, ttlMs: number, info: AgentInfo) => Promise<AgentLiveness> {
  return async (agentId: string, ttlMs: number, info: AgentInfo) => {
    const args = agentArgs(agentId, ttlMs, info);
    const reply = await run(
      "geoLeaseAgentHeartbeat",
      [keys.agent(agentId), keys.agents, keys.era],
      args,
    );
    return parseLiveness(reply);
  };
}

/** The heartbeat's arguments, also the first ones of the renew-units script. */
export function agentArgs(agentId: string, ttlMs: number, info: AgentInfo): (string | number)[] {
  checkId("agentId", agentId);
  checkTtl("ttlMs", ttlMs);
  if (info === null || typeof info !== "object") {
    throw new LeaseError("INVALID_ARGUMENT", "info must be an object with region and instance");
  }
  checkId("info.region", info.region);
  checkId("info.instance", info.instance);
  let json: string;
  try {
    json = JSON.stringify(info);
  } catch (error) {
    throw new LeaseError("INVALID_ARGUMENT", `info is not JSON-serializable: ${String(error)}`);
  }
  return [agentId, info.instance, info.region, ttlMs, json];
}

/** The heartbeat's reply, also the head of the renew-units reply. */
export function parseLiveness(reply: unknown): AgentLiveness {
  const [ok, a, b] = tuple(reply, 2, "agent heartbeat");
  if (ok === 1) return { ok: true, created: a === 1 };
  return {
    ok: false,
    reason: "instance-conflict",
    liveInstance: String(a),
    retryInMs: Math.max(0, Number(b)),
  };
}
