// Helpers for this package's tests (not exported from the package).
import { randomBytes } from "node:crypto";
import type { RedisConfig } from "@geo/config";
import { createLogger } from "@geo/logging";
import { createRedisClient, type Redis } from "@geo/redis";
import { LeaseError } from "./lease-error";

export const silentLogger = createLogger({ service: "leases-test", level: "silent" });

/** A client like the services use, with a short reconnection backoff for restart tests. */
export function testClient(url: string, name = "leases-test"): Redis {
  const config: RedisConfig = { url, keyPrefix: "" };
  return createRedisClient(config, { logger: silentLogger, name, maxRetryDelayMs: 100 });
}

/** A key prefix no other test uses, so tests share one Redis without seeing each other. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${randomBytes(4).toString("hex")}:`;
}

/** Polls `probe` until it returns something other than undefined, or fails at the deadline. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
  intervalMs = 10,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
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
