// Helpers for this package's tests (not exported from the package).
import { randomBytes } from "node:crypto";
import { createLogger } from "@geo/logging";
import { createRedisClient, type Redis } from "@geo/redis";
import type { RegionGroup } from "./region-groups";

export const silentLogger = createLogger({ service: "region-state-test", level: "silent" });

export function testClient(url: string): Redis {
  return createRedisClient(
    { url, keyPrefix: "" },
    { logger: silentLogger, name: "region-test", maxRetryDelayMs: 100 },
  );
}

/** A key prefix no other test uses, so tests share one Redis without seeing each other. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${randomBytes(4).toString("hex")}:`;
}

export const ORDERS: RegionGroup = {
  name: "orders",
  regions: [
    { region: "us-east", cluster: "us-east", bootstrapServers: ["127.0.0.1:19092"] },
    { region: "eu-west", cluster: "eu-west", bootstrapServers: ["127.0.0.1:29092"] },
  ],
  initialActive: "us-east",
};

export const PAYMENTS: RegionGroup = { ...ORDERS, name: "payments", initialActive: "eu-west" };

/** Polls `probe` until it returns something other than undefined, or fails at the deadline. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
