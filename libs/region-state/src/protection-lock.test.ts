// The protection lock on a real Redis: one holder at a time, a token only its owner releases
// with, expiry of a holder that never releases, and a waiter that gets it once it is free.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryRegionLog } from "./region-log";
import { createRegionStore, type RegionStore } from "./region-store";
import { ORDERS, PAYMENTS, silentLogger, uniquePrefix, useTestRedis } from "./test-support";

const fixture = useTestRedis();

function openStore(keyPrefix: string, protectionLockTtlMs = 60_000): RegionStore {
  const store = createRegionStore({
    redis: fixture.redis,
    keyPrefix,
    groups: [ORDERS, PAYMENTS],
    log: createMemoryRegionLog(),
    logger: silentLogger,
    protectionLockTtlMs,
  });
  fixture.stores.push(store);
  return store;
}

describe("protection lock (real Redis)", () => {
  it("has one holder per group at a time, across stores, with a token in a key of its own", async () => {
    const prefix = uniquePrefix("plock");
    const one = openStore(prefix);
    const other = openStore(prefix);
    const lock = await one.takeProtectionLock("orders");
    assert.ok(lock);
    assert.equal(await fixture.redis.get(`${prefix}region:protection-lock:orders`), lock.token);
    assert.equal(await other.takeProtectionLock("orders"), undefined, "held: not taken");
    assert.ok(await other.takeProtectionLock("payments"), "another group's lock is its own");
    const ttl = await fixture.redis.pttl(`${prefix}region:protection-lock:orders`);
    assert.ok(ttl > 55_000 && ttl <= 60_000, `PX 60 s, found ${ttl}`);
    assert.ok(lock.remainingMs() > 55_000 && lock.remainingMs() <= 60_000);
    assert.equal(await lock.release(), true);
    assert.ok(await other.takeProtectionLock("orders"), "free again once released");
  });

  it("is released only by its owner: a holder whose lock expired cannot free the next one's", async () => {
    const store = openStore(uniquePrefix("plock-owner"), 200);
    const first = await store.takeProtectionLock("orders");
    assert.ok(first);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(first.remainingMs(), 0);
    const second = await store.takeProtectionLock("orders");
    assert.ok(second, "an expired holder does not block the next");
    assert.equal(await first.release(), false, "the old token no longer holds it");
    assert.equal(await store.takeProtectionLock("orders"), undefined, "still the second's");
    assert.equal(await second.release(), true);
  });

  it("waits (bounded) for a holder, and runs work only while holding it", async () => {
    const store = openStore(uniquePrefix("plock-wait"));
    const held = await store.takeProtectionLock("orders");
    assert.ok(held);
    const refused = await store.withProtectionLock("orders", async () => "ran", {
      waitMs: 150,
      pollMs: 20,
    });
    assert.deepEqual(refused, { locked: false });
    setTimeout(() => void held.release(), 100);
    const started = performance.now();
    const waited = await store.withProtectionLock("orders", async () => "ran", {
      waitMs: 5000,
      pollMs: 20,
    });
    assert.deepEqual(waited, { locked: true, value: "ran" });
    assert.ok(performance.now() - started >= 90, "got it only after the release");
    const failing = store.withProtectionLock("orders", async () => {
      throw new Error("boom");
    });
    await assert.rejects(failing, /boom/);
    assert.ok(await store.takeProtectionLock("orders"), "released after a failed work too");
  });

  it("refuses a group it does not know", async () => {
    const store = openStore(uniquePrefix("plock-unknown"));
    await assert.rejects(store.takeProtectionLock("nope"), /nope/);
  });
});
