import assert from "node:assert/strict";
import { test } from "node:test";
import type { LeaseStore, RenewUnitsResult } from "@geo/leases";
import { createLogger } from "@geo/logging";
import { startLeaseKeeper } from "./lease-keeper";

test("a revoked unit stays trusted until its last deadline and is reported as revoked, not lost", async () => {
  let answer: "ok" | "revoked" = "ok";
  const store = {
    renewUnits: async (_agent: string, units: { unitId: string; epoch: number }[]) =>
      ({
        agent: { ok: true, created: false },
        units: units.map((u) =>
          answer === "ok" ? { ...u, ok: true } : { ...u, ok: false, reason: "revoked" },
        ),
        lost: answer === "ok" ? 0 : units.length,
      }) as RenewUnitsResult,
  } as unknown as LeaseStore;
  const lost: string[] = [];
  const revoked: string[] = [];
  const keeper = startLeaseKeeper({
    store,
    agentId: "a1",
    info: { region: "west", instance: "i1" },
    ttlMs: 3000,
    renewIntervalMs: 60_000,
    safetyMarginMs: 750,
    logger: createLogger({ service: "test", level: "silent" }),
    onLost: (ids) => lost.push(...ids),
    onRevoked: (units) => revoked.push(...units.map((u) => `${u.unitId}@${u.epoch}`)),
    onConflict: () => assert.fail("no conflict"),
  });
  try {
    keeper.setUnits(new Map([["f/t/0", 4n]]));
    await keeper.renewNow();
    assert.equal(keeper.isTrusted("f/t/0", 4n), true);
    answer = "revoked";
    await keeper.renewNow();
    assert.deepEqual(revoked, ["f/t/0@4"]);
    assert.deepEqual(lost, []);
    assert.equal(keeper.isTrusted("f/t/0", 4n), true, "trusted until the last renewal's deadline");
  } finally {
    await keeper.stop();
  }
});
