// Helpers for this package's tests (not exported from the package).
import { createLogger } from "@geo/logging";
import { createRedisClient, type Redis } from "@geo/redis";
import type { RegionGroup } from "./region-groups";

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
