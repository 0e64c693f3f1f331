import assert from "node:assert/strict";
import { test } from "node:test";
import type { LeaseStore, RenewUnitsResult, UnitEpoch } from "@geo/leases";
import { createLogger } from "@geo/logging";
import { toEpoch } from "@geo/positions";
import { startLeaseKeeper } from "./lease-keeper";

/** A keeper over a store whose every unit renewal answers `answer.value` (ok, or that failure). */
function keeperWith(
  answer: { value: "ok" | "revoked" | "not-owner" },
  callbacks: Pick<Parameters<typeof startLeaseKeeper>[0], "onLost" | "onRevoked" | "onRegained">,
  lease: { ttlMs: number; safetyMarginMs: number } = { ttlMs: 3000, safetyMarginMs: 750 },
) {
  const store = {
    renewUnits: async (_agent: string, units: UnitEpoch[]) =>
      ({
        agent: { ok: true, created: false },
        units: units.map((u) =>
          answer.value === "ok" ? { ...u, ok: true } : { ...u, ok: false, reason: answer.value },
        ),
        lost: answer.value === "ok" ? 0 : units.length,
      }) as RenewUnitsResult,
  } as unknown as LeaseStore;
  return startLeaseKeeper({
    store,
    agentId: "a1",
    info: { region: "west", instance: "i1" },
    ...lease,
    renewIntervalMs: 60_000,
    logger: createLogger({ service: "test", level: "silent" }),
    ...callbacks,
    onConflict: () => assert.fail("no conflict"),
  });
}

test("a revoked unit stays trusted until its last deadline and is reported as revoked, not lost", async () => {
  const answer: { value: "ok" | "revoked" } = { value: "ok" };
  const lost: string[] = [];
  const revoked: string[] = [];
  const keeper = keeperWith(answer, {
    onLost: (ids) => lost.push(...ids),
    onRevoked: (units) => revoked.push(...units.map((u) => `${u.unitId}@${u.epoch}`)),
  });
  try {
    keeper.setUnits(new Map([["f/t/0", toEpoch(4)]]));
    await keeper.renewNow();
    assert.equal(keeper.isTrusted("f/t/0", toEpoch(4)), true);
    answer.value = "revoked";
    await keeper.renewNow();
    assert.deepEqual(revoked, ["f/t/0@4"]);
    assert.deepEqual(lost, []);
    assert.equal(
      keeper.isTrusted("f/t/0", toEpoch(4)),
      true,
      "trusted until the last renewal's deadline",
    );
  } finally {
    await keeper.stop();
  }
});

test("deadline: each renewal moves it on; undefined for another epoch, once lost, or once the unit is dropped", async () => {
  const answer: { value: "ok" | "not-owner" } = { value: "ok" };
  const lost: string[] = [];
  const keeper = keeperWith(answer, {
    onLost: (ids) => lost.push(...ids),
    onRevoked: () => assert.fail("no revoke"),
  });
  try {
    keeper.setUnits(new Map([["f/t/0", toEpoch(4)]]));
    assert.equal(keeper.deadline("f/t/0", toEpoch(4)), undefined, "not trusted before a renewal");
    const sent = performance.now();
    await keeper.renewNow();
    const first = keeper.deadline("f/t/0", toEpoch(4));
    assert.ok(first !== undefined);
    // Sent after `sent`: at least TTL less margin from then, on the monotonic clock.
    assert.ok(first >= sent + 3000 - 750 && first <= performance.now() + 3000 - 750, `${first}`);
    assert.equal(keeper.deadline("f/t/0", toEpoch(5)), undefined, "another epoch");
    assert.equal(keeper.deadline("f/t/1", toEpoch(4)), undefined, "another unit");
    await new Promise((resolve) => setTimeout(resolve, 20));
    await keeper.renewNow();
    const second = keeper.deadline("f/t/0", toEpoch(4))!;
    assert.ok(second > first, `renewed: ${second} after ${first}`);

    answer.value = "not-owner";
    await keeper.renewNow();
    assert.deepEqual(lost, ["f/t/0"]);
    assert.equal(keeper.deadline("f/t/0", toEpoch(4)), undefined, "lost");

    answer.value = "ok";
    keeper.setUnits(new Map([["f/t/2", toEpoch(1)]]));
    await keeper.renewNow();
    assert.ok(keeper.deadline("f/t/2", toEpoch(1)) !== undefined);
    keeper.setUnits(new Map());
    assert.equal(keeper.deadline("f/t/2", toEpoch(1)), undefined, "dropped");
  } finally {
    await keeper.stop();
  }
});

test("a unit whose deadline passed without a renewal is reported regained when a renewal confirms it again", async () => {
  const regained: string[] = [];
  const keeper = keeperWith(
    { value: "ok" },
    {
      onLost: () => assert.fail("nothing lost"),
      onRevoked: () => assert.fail("no revoke"),
      onRegained: (units) => regained.push(...units.map((u) => `${u.unitId}@${u.epoch}`)),
    },
    { ttlMs: 300, safetyMarginMs: 100 },
  );
  try {
    keeper.setUnits(new Map([["f/t/0", toEpoch(4)]]));
    await keeper.renewNow();
    assert.deepEqual(regained, ["f/t/0@4"], "first confirmation");
    await keeper.renewNow();
    assert.deepEqual(regained, ["f/t/0@4"], "a renewal in time is not a regain");
    // No renewal for longer than TTL less margin: what a frozen Redis or a paused agent causes.
    await new Promise((resolve) => setTimeout(resolve, 260));
    assert.equal(keeper.isTrusted("f/t/0", toEpoch(4)), false);
    await keeper.renewNow();
    assert.equal(keeper.isTrusted("f/t/0", toEpoch(4)), true);
    assert.deepEqual(regained, ["f/t/0@4", "f/t/0@4"]);
  } finally {
    await keeper.stop();
  }
});
