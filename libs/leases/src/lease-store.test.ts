import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type RedisServer, startRedis } from "@geo/local-runtime";
import { type Epoch, toEpoch } from "@geo/positions";
import type { Redis } from "@geo/redis";
import { LeaseError } from "./lease-error";
import { createLeaseStore } from "./lease-store";
import type { AgentInfo, LeaseStore } from "./lease-store-types";
import { redisNow, testClient, uniquePrefix, waitFor } from "./test-support";

const LONG_TTL = 30_000;

let server: RedisServer;
let redis: Redis;

before(async () => {
  server = await startRedis();
  redis = testClient(server.url);
});

after(async () => {
  redis?.disconnect();
  await server?.stop();
});

function info(region: string, instance = `${region}-instance`): AgentInfo {
  return { region, instance };
}

/** A store on a fresh prefix whose keyspace is not "just came up empty" (see grant "recovering"). */
async function establishedStore(label: string): Promise<LeaseStore> {
  const store = createLeaseStore({ redis, keyPrefix: uniquePrefix(label) });
  await redis.set(store.keys.era, "0");
  return store;
}

const grantOptions = { minEpoch: toEpoch(0), graceMs: 500, ttlMs: 1000 };

describe("createLeaseStore (real Redis)", () => {
  it("grants a free unit with epoch 1 to a live agent, idempotently", async () => {
    const store = await establishedStore("free");
    assert.deepEqual(await store.grantUnit("u1", "a", grantOptions), {
      granted: false,
      epoch: toEpoch(0),
      reason: "agent-not-live",
    });
    assert.deepEqual(await store.registerAgent("a", LONG_TTL, info("eu")), {
      ok: true,
      created: true,
    });
    assert.deepEqual(await store.grantUnit("u1", "a", grantOptions), {
      granted: true,
      epoch: toEpoch(1),
      reason: "free",
    });
    assert.deepEqual(await store.grantUnit("u1", "a", grantOptions), {
      granted: true,
      epoch: toEpoch(1),
      reason: "already-owner",
    });
    const [state, unknown] = await store.getUnits(["u1", "nope"]);
    assert.equal(state?.owner, "a");
    assert.equal(state?.epoch, toEpoch(1));
    assert.equal(unknown, undefined);
  });

  it("takes minEpoch from the caller when it is above Redis's counter", async () => {
    const store = await establishedStore("min");
    await store.registerAgent("a", LONG_TTL, info("eu"));
    const granted = await store.grantUnit("u1", "a", { ...grantOptions, minEpoch: toEpoch(41) });
    assert.deepEqual(granted, { granted: true, epoch: toEpoch(42), reason: "free" });
    assert.equal(
      (await store.grantUnit("u1", "a", { ...grantOptions, minEpoch: toEpoch(42) })).epoch,
      toEpoch(42),
    );
    // The target cluster saw a higher epoch than Redis remembers for a unit the agent owns.
    assert.deepEqual(await store.grantUnit("u1", "a", { ...grantOptions, minEpoch: toEpoch(50) }), {
      granted: true,
      epoch: toEpoch(51),
      reason: "re-epoch",
    });
    const renew = await store.renewUnits(
      "a",
      [{ unitId: "u1", epoch: toEpoch(42) }],
      LONG_TTL,
      info("eu"),
    );
    assert.equal(!renew.units[0]?.ok && renew.units[0]?.reason, "stale-epoch");
  });

  it("refuses a second agent while the owner is live", async () => {
    const store = await establishedStore("live");
    await store.registerAgent("a", LONG_TTL, info("eu"));
    await store.registerAgent("b", LONG_TTL, info("eu"));
    await store.grantUnit("u1", "a", grantOptions);
    assert.deepEqual(await store.grantUnit("u1", "b", grantOptions), {
      granted: false,
      epoch: toEpoch(1),
      reason: "owner-live",
      currentOwner: "a",
    });
  });

  it("refuses during the grace after the owner's lease expired, then grants with epoch + 1", async () => {
    const store = await establishedStore("expiry");
    const ttlMs = 300;
    const graceMs = 2000;
    await store.registerAgent("a", ttlMs, info("eu"));
    await store.registerAgent("b", LONG_TTL, info("eu"));
    assert.equal(
      (await store.grantUnit("u1", "a", { ...grantOptions, graceMs })).epoch,
      toEpoch(1),
    );
    const ownerDeadline = Number(await redis.zscore(store.keys.agents, "a"));

    // The grant script checks the liveness key itself; the index listLiveAgents reads can say
    // "expired" a moment before Redis has expired the key on a busy machine.
    await waitFor("a's liveness key to expire", async () =>
      (await redis.exists(store.keys.agent("a"))) === 0 ? true : undefined,
    );
    const during = await store.grantUnit("u1", "b", { ...grantOptions, graceMs });
    assert.equal(during.granted, false);
    assert.equal(during.reason, "grace");
    assert.equal(!during.granted && during.currentOwner, "a");
    assert.ok(!during.granted && during.retryInMs! > 0 && during.retryInMs! <= graceMs);

    const granted = await waitFor("the grant after the grace", async () => {
      const result = await store.grantUnit("u1", "b", { ...grantOptions, graceMs });
      return result.granted ? result : undefined;
    });
    assert.deepEqual(granted, {
      granted: true,
      epoch: toEpoch(2),
      reason: "expired",
      previousOwner: "a",
    });
    const [state] = await store.getUnits(["u1"]);
    assert.ok(
      state!.grantedAt! >= ownerDeadline + graceMs,
      `granted at ${state!.grantedAt}, owner's lease ended at ${ownerDeadline}, grace ${graceMs}`,
    );
  });

  it("reports a unit lost to a renew with a wrong epoch or by another agent", async () => {
    const store = await establishedStore("lost");
    await store.registerAgent("a", LONG_TTL, info("eu"));
    await store.registerAgent("b", LONG_TTL, info("eu"));
    await store.grantUnit("u1", "a", grantOptions);
    await store.grantUnit("u2", "a", grantOptions);
    const result = await store.renewUnits(
      "a",
      [
        { unitId: "u1", epoch: toEpoch(1) },
        { unitId: "u2", epoch: toEpoch(7) },
        { unitId: "never-granted", epoch: toEpoch(1) },
      ],
      LONG_TTL,
      info("eu"),
    );
    assert.deepEqual(result, {
      agent: { ok: true, created: false },
      units: [
        { unitId: "u1", epoch: toEpoch(1), ok: true },
        { unitId: "u2", epoch: toEpoch(7), ok: false, reason: "stale-epoch" },
        { unitId: "never-granted", epoch: toEpoch(1), ok: false, reason: "no-owner" },
      ],
      lost: 2,
    });
    const byOther = await store.renewUnits(
      "b",
      [{ unitId: "u1", epoch: toEpoch(1) }],
      LONG_TTL,
      info("eu"),
    );
    assert.deepEqual(byOther.units, [
      { unitId: "u1", epoch: toEpoch(1), ok: false, reason: "other-owner" },
    ]);
  });

  it("grants at once after the owner released; a stale release changes nothing", async () => {
    const store = await establishedStore("release");
    await store.registerAgent("a", LONG_TTL, info("eu"));
    await store.registerAgent("b", LONG_TTL, info("eu"));
    await store.grantUnit("u1", "a", grantOptions);
    assert.deepEqual(await store.releaseUnit("u1", "a", toEpoch(0)), {
      released: false,
      reason: "not-owner",
      epoch: toEpoch(1),
      owner: "a",
    });
    assert.deepEqual(await store.releaseUnit("u1", "b", toEpoch(1)), {
      released: false,
      reason: "not-owner",
      epoch: toEpoch(1),
      owner: "a",
    });
    assert.deepEqual(await store.releaseUnit("u1", "a", toEpoch(1)), {
      released: true,
      reason: "released",
      epoch: toEpoch(1),
    });
    assert.deepEqual(await store.grantUnit("u1", "b", grantOptions), {
      granted: true,
      epoch: toEpoch(2),
      reason: "released",
    });
    // The old owner's late release of its epoch cannot free b's unit.
    assert.equal((await store.releaseUnit("u1", "a", toEpoch(1))).released, false);
    const renew = await store.renewUnits(
      "a",
      [{ unitId: "u1", epoch: toEpoch(1) }],
      LONG_TTL,
      info("eu"),
    );
    assert.equal(renew.units[0]?.ok === false && renew.units[0].reason, "other-owner");
    assert.equal((await store.getUnits(["u1"]))[0]?.owner, "b");
  });

  it("revokes for a planned move: the owner's renewals fail, the grant waits for release or ttl + grace", async () => {
    const store = await establishedStore("revoke");
    const ttlMs = 300;
    const graceMs = 200;
    const options = { minEpoch: toEpoch(0), graceMs, ttlMs };
    await store.registerAgent("a", ttlMs, info("eu"));
    await store.registerAgent("b", LONG_TTL, info("eu"));
    await store.grantUnit("u1", "a", options);
    await store.grantUnit("u2", "a", options);
    assert.deepEqual(await store.revokeUnit("u1", { owner: "b" }), {
      revoked: false,
      reason: "owner-mismatch",
      epoch: toEpoch(1),
      owner: "a",
    });
    assert.deepEqual(await store.revokeUnit("u1", { owner: "a", epoch: toEpoch(1) }), {
      revoked: true,
      reason: "revoked",
      epoch: toEpoch(1),
      owner: "a",
    });
    assert.equal((await store.revokeUnit("u1")).reason, "already-revoked");
    assert.equal((await store.revokeUnit("nope")).reason, "no-owner");
    await store.revokeUnit("u2");
    const u2RevokedAt = (await store.getUnits(["u2"]))[0]!.revokedAt!;

    const renew = await store.renewUnits(
      "a",
      [
        { unitId: "u1", epoch: toEpoch(1) },
        { unitId: "u2", epoch: toEpoch(1) },
      ],
      ttlMs,
      info("eu"),
    );
    assert.deepEqual(
      renew.units.map((unit) => !unit.ok && unit.reason),
      ["revoked", "revoked"],
    );
    const waiting = await store.grantUnit("u1", "b", options);
    assert.equal(waiting.reason, "revoking");

    // u1: the owner complies and releases, the move completes at once.
    assert.equal((await store.releaseUnit("u1", "a", toEpoch(1))).released, true);
    assert.deepEqual(await store.grantUnit("u1", "b", options), {
      granted: true,
      epoch: toEpoch(2),
      reason: "released",
    });

    // u2: the owner stays live but never releases; the grant waits revokedAt + ttl + grace.
    const granted = await waitFor("u2 after revoke + ttl + grace", async () => {
      await store.renewAgent("a", ttlMs, info("eu"));
      const result = await store.grantUnit("u2", "b", options);
      return result.granted ? result : undefined;
    });
    assert.deepEqual(granted, {
      granted: true,
      epoch: toEpoch(2),
      reason: "revoked",
      previousOwner: "a",
    });
    const [u2] = await store.getUnits(["u2"]);
    assert.equal(u2?.revokedAt, undefined, "a grant clears the revoke");
    assert.ok(
      u2!.grantedAt! >= u2RevokedAt + ttlMs + graceMs,
      `granted at ${u2!.grantedAt}, revoked at ${u2RevokedAt}`,
    );
  });

  it("refuses another process under a live agent id", async () => {
    const store = await establishedStore("instance");
    await store.registerAgent("a", LONG_TTL, info("eu", "first"));
    await store.grantUnit("u1", "a", grantOptions);
    const second = await store.registerAgent("a", LONG_TTL, info("eu", "second"));
    assert.equal(second.ok, false);
    assert.equal(!second.ok && second.liveInstance, "first");
    assert.ok(!second.ok && second.retryInMs > LONG_TTL - 5000);
    const renew = await store.renewUnits(
      "a",
      [{ unitId: "u1", epoch: toEpoch(1) }],
      LONG_TTL,
      info("eu", "second"),
    );
    assert.equal(renew.agent.ok, false);
    assert.deepEqual(renew.units, [
      { unitId: "u1", epoch: toEpoch(1), ok: false, reason: "instance-conflict" },
    ]);
    assert.equal(renew.lost, 1);
  });

  it("lists live agents by region and drops expired ones", async () => {
    const store = await establishedStore("list");
    await store.registerAgent("eu-2", LONG_TTL, { region: "eu", instance: "i2", address: "h:1" });
    await store.registerAgent("eu-1", LONG_TTL, info("eu"));
    await store.registerAgent("us-1", LONG_TTL, info("us"));
    await store.registerAgent("eu-short", 100, info("eu"));
    const all = await store.listLiveAgents();
    assert.deepEqual(
      all.map((agent) => agent.agentId),
      ["eu-1", "eu-2", "eu-short", "us-1"],
    );
    const eu2 = all.find((agent) => agent.agentId === "eu-2");
    assert.deepEqual(eu2?.info, { region: "eu", instance: "i2", address: "h:1" });
    assert.ok(eu2!.expiresInMs > LONG_TTL - 5000 && eu2!.expiresInMs <= LONG_TTL);
    const eu = await waitFor("eu-short to expire", async () => {
      const agents = await store.listLiveAgents("eu");
      return agents.length === 2 ? agents : undefined;
    });
    assert.deepEqual(
      eu.map((agent) => agent.agentId),
      ["eu-1", "eu-2"],
    );
  });

  it("grants no unknown unit for ttl + grace after the keyspace came up empty", async () => {
    const store = createLeaseStore({ redis, keyPrefix: uniquePrefix("fresh") });
    const options = { minEpoch: toEpoch(0), graceMs: 200, ttlMs: 300 };
    await store.registerAgent("a", LONG_TTL, info("eu"));
    const era = Number(await redis.get(store.keys.era));
    const first = await store.grantUnit("u1", "a", options);
    assert.equal(first.reason, "recovering");
    assert.ok(!first.granted && first.retryInMs! > 0 && first.retryInMs! <= 500);
    const granted = await waitFor("the grant after recovery", async () => {
      const result = await store.grantUnit("u1", "a", options);
      return result.granted ? result : undefined;
    });
    assert.deepEqual(granted, { granted: true, epoch: toEpoch(1), reason: "free" });
    const [state] = await store.getUnits(["u1"]);
    assert.ok(state!.grantedAt! >= era + 500);
  });

  it("renews 1,000 units in one EVALSHA", async (t) => {
    const store = await establishedStore("batch");
    await store.registerAgent("a", LONG_TTL, info("eu"));
    const units = Array.from({ length: 1000 }, (_, i) => ({
      unitId: `flow-1/orders.eu/${i}`,
      epoch: toEpoch(0),
    }));
    const grants = await Promise.all(
      units.map((unit) => store.grantUnit(unit.unitId, "a", grantOptions)),
    );
    const held = units.map((unit, i) => ({ unitId: unit.unitId, epoch: grants[i]!.epoch }));

    const evalshaCalls = async () => {
      const stats = await redis.info("commandstats");
      return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0);
    };
    await store.renewUnits("a", held, LONG_TTL, info("eu")); // warm: script loaded
    const callsBefore = await evalshaCalls();
    const timings: number[] = [];
    for (let round = 0; round < 20; round++) {
      const started = performance.now();
      const result = await store.renewUnits("a", held, LONG_TTL, info("eu"));
      timings.push(performance.now() - started);
      assert.equal(result.lost, 0);
    }
    assert.equal((await evalshaCalls()) - callsBefore, 20, "one EVALSHA per renewal");
    const sorted = [...timings].sort((a, b) => a - b);
    const median = sorted[10]!;
    const max = sorted[19]!;
    t.diagnostic(
      `renewUnits of 1,000 units: median ${median.toFixed(2)} ms, max ${max.toFixed(2)} ms (20 rounds)`,
    );
    assert.ok(median < 100, `median ${median} ms`);

    // One unit taken away shows up in the same batch.
    await store.releaseUnit(held[500]!.unitId, "a", held[500]!.epoch);
    const result = await store.renewUnits("a", held, LONG_TTL, info("eu"));
    assert.equal(result.lost, 1);
    assert.deepEqual(result.units[500], { ...held[500], ok: false, reason: "no-owner" });
  });

  it("refuses invalid arguments with a non-retriable INVALID_ARGUMENT", async () => {
    const store = await establishedStore("invalid");
    const invalid = (error: unknown) =>
      error instanceof LeaseError && error.code === "INVALID_ARGUMENT" && !error.retriable;
    await assert.rejects(store.grantUnit("", "a", grantOptions), invalid);
    await assert.rejects(
      store.grantUnit("u", "a", { ...grantOptions, minEpoch: -1n as Epoch }),
      invalid,
    );
    await assert.rejects(store.grantUnit("u", "a", { ...grantOptions, ttlMs: 0 }), invalid);
    await assert.rejects(store.registerAgent("a", 1.5, info("eu")), invalid);
    await assert.rejects(store.registerAgent("a", 1000, { region: "", instance: "i" }), invalid);
    await assert.rejects(
      store.renewUnits(
        "a",
        [{ unitId: "u", epoch: Number.NaN as unknown as Epoch }],
        1000,
        info("eu"),
      ),
      invalid,
    );
    await assert.rejects(store.releaseUnit("u", "a", 1.5 as unknown as Epoch), invalid);
  });

  it("answers with Redis's own time", async () => {
    const store = await establishedStore("time");
    await store.registerAgent("a", LONG_TTL, info("eu"));
    const before = await redisNow(redis);
    await store.grantUnit("u1", "a", grantOptions);
    const after = await redisNow(redis);
    const [state] = await store.getUnits(["u1"]);
    assert.ok(state!.grantedAt! >= before && state!.grantedAt! <= after);
  });
});
