// Helpers for this package's tests (not exported from the package).
import { after, before } from "node:test";
import { type RedisServer, startRedis } from "@geo/local-runtime";
import { createLogger } from "@geo/logging";
import { createRedisClient, type Redis } from "@geo/redis";
import type { RegionGroup } from "./region-groups";
import type { RegionStore } from "./region-store";

export { uniquePrefix, waitFor } from "@geo/local-runtime";

export const silentLogger = createLogger({ service: "region-state-test", level: "silent" });

export function testClient(url: string): Redis {
  return createRedisClient(
    { url, keyPrefix: "" },
    { logger: silentLogger, name: "region-test", maxRetryDelayMs: 100 },
  );
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

/**
 * A real Redis for the test file (started before its tests) and the stores its tests open,
 * closed after them with the client and the server.
 */
export function useTestRedis(): { readonly redis: Redis; readonly stores: RegionStore[] } {
  let server: RedisServer | undefined;
  const fixture = { redis: undefined as unknown as Redis, stores: [] as RegionStore[] };
  before(async () => {
    server = await startRedis();
    fixture.redis = testClient(server.url);
  });
  after(async () => {
    await Promise.all(fixture.stores.map((store) => store.close()));
    fixture.redis?.disconnect();
    await server?.stop();
  });
  return fixture;
}
