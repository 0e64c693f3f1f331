// A real Redis for a test file, and a fresh region store of ORDERS_GROUP (its own key prefix,
// restored) before each of its tests; everything is closed after the file's tests.
import { randomBytes } from "node:crypto";
import { after, before, beforeEach } from "node:test";
import { type RedisServer, startRedis } from "@geo/local-runtime";
import type { Logger } from "@geo/logging";
import { createRedisClient, type Redis } from "@geo/redis";
import {
  createMemoryRegionLog,
  createRegionStore,
  type RegionStore,
  type RegionStoreOptions,
} from "@geo/region-state";
import { ORDERS_GROUP } from "./orders-group";

export interface RegionStoreFixture {
  readonly redis: Redis;
  /** The store of the current test. */
  readonly store: RegionStore;
  /** Another restored store of the group, on its own key prefix, with `extra` options. */
  open(extra?: Partial<RegionStoreOptions>): Promise<RegionStore>;
}

/** Call at the top of a test file, before its own hooks (they run after these). */
export function useOrdersStore(logger: Logger, name: string): RegionStoreFixture {
  let server: RedisServer | undefined;
  const stores: RegionStore[] = [];
  const fixture = {
    open: async (extra: Partial<RegionStoreOptions> = {}) => {
      const store = createRegionStore({
        redis: fixture.redis,
        keyPrefix: `${name}-${randomBytes(4).toString("hex")}:`,
        groups: [ORDERS_GROUP],
        log: createMemoryRegionLog(),
        logger,
        ...extra,
      });
      stores.push(store);
      store.start();
      await store.whenReady();
      return store;
    },
  } as RegionStoreFixture & { redis: Redis; store: RegionStore };
  before(async () => {
    server = await startRedis();
    fixture.redis = createRedisClient({ url: server.url, keyPrefix: "" }, { logger, name });
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    fixture.redis?.disconnect();
    await server?.stop();
  });
  beforeEach(async () => {
    fixture.store = await fixture.open();
  });
  return fixture;
}
