// A flow group's protection lock: whoever changes the group's passive-protection ACLs holds it
// (the health service's protection keeper for a pass, a transition for its ACL steps), so two
// of them never change one group's ACLs at once. A key of its own, apart from the state and
// its transition lock: a keeper pass takes it without touching the state, and a transition
// takes it while its own lock is held. SET NX PX with a random token; only the token's owner
// deletes it (compare-and-delete), and a holder that died leaves it for at most the TTL.
import { randomUUID } from "node:crypto";
import { Code, GeoError } from "@geo/grpc";
import { defineScripts, type Redis } from "@geo/redis";

/** KEYS: the lock. ARGV: the holder's token. Deletes the key only if the token still holds it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** The lock as held by one caller. */
export interface ProtectionLock {
  readonly token: string;
  /** Time left before Redis drops the lock, counted from before it was taken (never late). */
  remainingMs(): number;
  /** Releases the lock if this holder still has it; true when it did. */
  release(): Promise<boolean>;
}

export interface TakeProtectionLock {
  /** How long to wait while someone else holds it; 0 (default): answer at once. */
  readonly waitMs?: number;
  /** How often to try again while waiting. Default 100 ms. */
  readonly pollMs?: number;
}

export type ProtectionLockResult<T> =
  | { readonly locked: true; readonly value: T }
  | { readonly locked: false };

export interface ProtectionLocks {
  readonly ttlMs: number;
  /** The lock, or undefined when someone else held it for the whole wait. */
  take(flowGroup: string, options?: TakeProtectionLock): Promise<ProtectionLock | undefined>;
  /** Runs `work` holding the lock and releases it after; `locked: false` when not taken. */
  with<T>(
    flowGroup: string,
    work: (lock: ProtectionLock) => Promise<T>,
    options?: TakeProtectionLock,
  ): Promise<ProtectionLockResult<T>>;
}

const unavailable = (name: string, error: unknown) =>
  new GeoError(Code.UNAVAILABLE, `Redis did not run ${name}: ${(error as Error).message}`, {
    retriable: true,
    cause: error,
  });

export function createProtectionLocks(
  redis: Redis,
  keyOf: (flowGroup: string) => string,
  ttlMs: number,
): ProtectionLocks {
  const run = defineScripts(redis, { geoRegionProtectionRelease: RELEASE }, unavailable);
  const tryTake = async (key: string): Promise<ProtectionLock | undefined> => {
    const token = randomUUID();
    const started = performance.now();
    const answer = await redis.set(key, token, "PX", ttlMs, "NX").catch((error: unknown) => {
      throw unavailable("SET NX", error);
    });
    if (answer !== "OK") return undefined;
    return {
      token,
      remainingMs: () => Math.max(0, ttlMs - (performance.now() - started)),
      release: async () => Number(await run("geoRegionProtectionRelease", [key], [token])) === 1,
    };
  };
  const take = async (flowGroup: string, options: TakeProtectionLock = {}) => {
    const key = keyOf(flowGroup);
    const deadline = performance.now() + (options.waitMs ?? 0);
    for (;;) {
      const lock = await tryTake(key);
      if (lock !== undefined || performance.now() >= deadline) return lock;
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
    }
  };
  return {
    ttlMs,
    take,
    async with(flowGroup, work, options) {
      const lock = await take(flowGroup, options);
      if (lock === undefined) return { locked: false };
      try {
        return { locked: true, value: await work(lock) };
      } finally {
        // An unreleased lock only delays the next holder by the TTL; the work's outcome stands.
        await lock.release().catch(() => false);
      }
    },
  };
}
