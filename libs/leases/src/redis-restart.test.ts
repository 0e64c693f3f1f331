import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type RedisServer, startRedis } from "@geo/local-runtime";
import { toEpoch } from "@geo/positions";
import type { Redis } from "@geo/redis";
import { createLeaseClock } from "./lease-clock";
import { createLeaseStore } from "./lease-store";
import type { AgentInfo } from "./lease-store-types";
import { retrying, testClient, uniquePrefix, waitFor } from "./test-support";

let server: RedisServer;
let redis: Redis;

before(async () => {
  server = await startRedis(); // no persistence, like the machines' Redis
  redis = testClient(server.url);
});

after(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe("a Redis restart with empty data (real redis-server)", () => {
  it("makes renewals report units lost and keeps epochs monotonic through minEpoch", async (t) => {
    const store = createLeaseStore({ redis, keyPrefix: uniquePrefix("restart") });
    await redis.set(store.keys.era, "0");
    const ttlMs = 1000;
    const graceMs = 300;
    const a: AgentInfo = { region: "eu", instance: "a-1" };
    const b: AgentInfo = { region: "eu", instance: "b-1" };
    await store.registerAgent("a", ttlMs, a);
    await store.registerAgent("b", 30_000, b);
    const options = { minEpoch: toEpoch(0), graceMs, ttlMs };
    // u1 reaches epoch 3 (granted, released and granted again), u2 epoch 2.
    for (const unitId of ["u1", "u1", "u1", "u2", "u2"]) {
      const granted = await store.grantUnit(unitId, "a", options);
      assert.equal(granted.granted, true);
      if (unitId === "u1" && granted.epoch < 3) await store.releaseUnit(unitId, "a", granted.epoch);
      if (unitId === "u2" && granted.epoch < 2) await store.releaseUnit(unitId, "a", granted.epoch);
    }
    const held = [
      { unitId: "u1", epoch: toEpoch(3) },
      { unitId: "u2", epoch: toEpoch(2) },
    ];
    const clock = createLeaseClock({ ttlMs, safetyMarginMs: 200 });
    const ticket = clock.beginRenew();
    const before = await store.renewUnits("a", held, ttlMs, a);
    assert.equal(before.lost, 0);
    clock.apply(ticket, before);
    assert.ok(clock.isTrusted("u1", toEpoch(3)));

    await server.restart();
    const restartedAt = performance.now();

    // The agent's next renewal (its script cache is gone too: EVALSHA falls back to EVAL).
    const renewal = clock.beginRenew();
    const after = await retrying(() => store.renewUnits("a", held, ttlMs, a));
    assert.deepEqual(after.agent, { ok: true, created: true }, "liveness recreated");
    assert.deepEqual(
      after.units.map((unit) => [unit.unitId, unit.ok, !unit.ok && unit.reason]),
      [
        ["u1", false, "no-owner"],
        ["u2", false, "no-owner"],
      ],
    );
    assert.deepEqual(clock.apply(renewal, after).sort(), ["u1", "u2"]);
    assert.equal(clock.isTrusted("u1"), false, "the agent must stop writing u1 now");

    // The coordinator re-grants with the highest epoch from u1's progress records in the target
    // cluster (3). Redis alone no longer knows it.
    await retrying(() => store.renewAgent("b", 30_000, b));
    const early = await store.grantUnit("u1", "b", { ...options, minEpoch: toEpoch(3) });
    assert.equal(early.reason, "recovering", "an owner from before the restart may still run");
    const regrant = await waitFor("the re-grant", async () => {
      const result = await store.grantUnit("u1", "b", { ...options, minEpoch: toEpoch(3) });
      return result.granted ? result : undefined;
    });
    t.diagnostic(
      `re-granted ${(performance.now() - restartedAt).toFixed(0)} ms after the restart (ttl + grace = ${ttlMs + graceMs} ms)`,
    );
    assert.deepEqual(regrant, { granted: true, epoch: toEpoch(4), reason: "free" });

    // Why minEpoch is required: from Redis alone, u2 would get epoch 1 again (it had 2).
    const fromRedisOnly = await store.grantUnit("u2", "b", options);
    assert.deepEqual(fromRedisOnly, { granted: true, epoch: toEpoch(1), reason: "free" });

    // The new owner's renewals work against the restarted server.
    const renewB = await store.renewUnits("b", [{ unitId: "u1", epoch: toEpoch(4) }], 30_000, b);
    assert.equal(renewB.lost, 0);
    const renewA = await store.renewUnits("a", [{ unitId: "u1", epoch: toEpoch(3) }], ttlMs, a);
    assert.equal(!renewA.units[0]?.ok && renewA.units[0]?.reason, "other-owner");
  });
});
