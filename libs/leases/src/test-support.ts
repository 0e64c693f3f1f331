// Helpers for this package's tests (not exported from the package).
import type { RedisConfig } from "@geo/config";
import { createLogger } from "@geo/logging";
import { createRedisClient, type Redis } from "@geo/redis";
import { LeaseError } from "./lease-error";

export { uniquePrefix, waitFor } from "@geo/local-runtime";

export const silentLogger = createLogger({ service: "leases-test", level: "silent" });

/** A client like the services use, with a short reconnection backoff for restart tests. */
export function testClient(url: string, name = "leases-test"): Redis {
  const config: RedisConfig = { url, keyPrefix: "" };
  return createRedisClient(config, { logger: silentLogger, name, maxRetryDelayMs: 100 });
}

/** Runs `fn` again while it fails with a retriable LeaseError (Redis reconnecting). */
export async function retrying<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (!(error instanceof LeaseError && error.retriable) || performance.now() > deadline) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Redis's clock in ms, to compare with times the scripts stored. */
export async function redisNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
