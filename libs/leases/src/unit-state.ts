import type { Redis } from "ioredis";
import type { LeaseKeys } from "./keys";
import { toLeaseError } from "./lease-error";
import type { UnitState } from "./lease-store-types";
import { checkId, replyEpoch } from "./validate";

/** LeaseStore.getUnits: the units' hashes in one pipeline. */
export async function getUnits(
  redis: Redis,
  keys: LeaseKeys,
  unitIds: readonly string[],
): Promise<(UnitState | undefined)[]> {
  for (const [i, id] of unitIds.entries()) checkId(`unitIds[${i}]`, id);
  if (unitIds.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of unitIds) pipeline.hgetall(keys.unit(id));
  let replies: [Error | null, unknown][] | null;
  try {
    replies = await pipeline.exec();
  } catch (error) {
    throw toLeaseError("getUnits", error);
  }
  return unitIds.map((unitId, i) => {
    const [error, hash] = replies?.[i] ?? [null, {}];
    if (error) throw toLeaseError("getUnits", error);
    const fields = hash as Record<string, string>;
    if (fields.epoch === undefined) return undefined;
    const time = (value: string | undefined) => (value === undefined ? undefined : Number(value));
    const state: UnitState = {
      unitId,
      epoch: replyEpoch(`${unitId} epoch`, fields.epoch),
      ...(fields.owner !== undefined ? { owner: fields.owner } : {}),
      ...(fields.grantedAt !== undefined ? { grantedAt: time(fields.grantedAt) } : {}),
      ...(fields.revokedAt !== undefined ? { revokedAt: time(fields.revokedAt) } : {}),
      ...(fields.releasedAt !== undefined ? { releasedAt: time(fields.releasedAt) } : {}),
    };
    return state;
  });
}
