import type { Redis } from "ioredis";
import type { LeaseKeys } from "./keys";
import { toLeaseError } from "./lease-error";
import type { AgentInfo, LiveAgent } from "./lease-store-types";
import { checkId } from "./validate";

/** LeaseStore.listLiveAgents: the agents index read at Redis time, then each agent's hash and TTL. */
export async function listLiveAgents(
  redis: Redis,
  keys: LeaseKeys,
  region: string | undefined,
): Promise<LiveAgent[]> {
  if (region !== undefined) checkId("region", region);
  let ids: string[];
  try {
    // Redis time, not ours: deadlines in the index were computed with it.
    const [seconds, micros] = await redis.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    ids = await redis.zrangebyscore(keys.agents, `(${now}`, "+inf");
  } catch (error) {
    throw toLeaseError("listLiveAgents", error);
  }
  if (ids.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hgetall(keys.agent(id)).pttl(keys.agent(id));
  let replies: [Error | null, unknown][] | null;
  try {
    replies = await pipeline.exec();
  } catch (error) {
    throw toLeaseError("listLiveAgents", error);
  }
  const agents: LiveAgent[] = [];
  ids.forEach((agentId, i) => {
    const [hashError, hash] = replies?.[2 * i] ?? [null, {}];
    const [, pttl] = replies?.[2 * i + 1] ?? [null, -2];
    if (hashError) throw toLeaseError("listLiveAgents", hashError);
    const fields = hash as Record<string, string>;
    // The key may have expired between the index read and now.
    if (fields.instance === undefined || typeof pttl !== "number" || pttl <= 0) return;
    const agentRegion = fields.region ?? "";
    if (region !== undefined && agentRegion !== region) return;
    agents.push({
      agentId,
      region: agentRegion,
      instance: fields.instance,
      info: parseInfo(fields.info, agentRegion, fields.instance),
      expiresInMs: pttl,
    });
  });
  return agents.sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
}

function parseInfo(json: string | undefined, region: string, instance: string): AgentInfo {
  try {
    const parsed: unknown = JSON.parse(json ?? "{}");
    if (parsed !== null && typeof parsed === "object") return { ...parsed, region, instance };
  } catch {
    // A hand-edited or foreign value: keep what the fields say.
  }
  return { region, instance };
}
