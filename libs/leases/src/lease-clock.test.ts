import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toEpoch } from "@geo/positions";
import { createLeaseClock } from "./lease-clock";
import { LeaseError } from "./lease-error";
import type { RenewUnitsResult } from "./lease-store-types";

function fakeClock(start = 1000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe("createLeaseClock", () => {
  it("trusts a unit until renew-sent + ttl - margin, measured from the send", () => {
    const time = fakeClock();
    const clock = createLeaseClock({ ttlMs: 10_000, safetyMarginMs: 2000, now: time.now });
    assert.equal(clock.isTrusted("u1"), false, "never confirmed");
    const ticket = clock.beginRenew();
    time.advance(300); // the round trip
    clock.confirm(ticket, [{ unitId: "u1", epoch: toEpoch(3) }]);
    assert.equal(clock.deadline("u1"), 1000 + 10_000 - 2000);
    assert.equal(clock.msLeft("u1"), 7700);
    assert.equal(clock.isTrusted("u1"), true);
    assert.equal(clock.isTrusted("u1", toEpoch(3)), true);
    assert.equal(clock.isTrusted("u1", toEpoch(2)), false, "another epoch is not trusted");
    time.advance(7699);
    assert.equal(clock.isTrusted("u1"), true);
    time.advance(1);
    assert.equal(clock.isTrusted("u1"), false, "the deadline itself is not trusted");
    assert.equal(clock.msLeft("u1"), 0);
  });

  it("does not trust a unit after a pause, even when the renew answer arrives later", () => {
    const time = fakeClock();
    const clock = createLeaseClock({ ttlMs: 10_000, safetyMarginMs: 2000, now: time.now });
    const first = clock.beginRenew();
    clock.confirm(first, [{ unitId: "u1", epoch: toEpoch(1) }]);
    const ticket = clock.beginRenew();
    time.advance(12_000); // SIGSTOP, GC pause or frozen VM while the renew was in flight
    // The answer arrives after the pause and says "ok": Redis renewed, but possibly long ago.
    clock.apply(ticket, {
      agent: { ok: true, created: false },
      units: [{ unitId: "u1", epoch: toEpoch(1), ok: true }],
      lost: 0,
    });
    assert.equal(clock.isTrusted("u1"), false);
    assert.equal(clock.deadline("u1"), 1000 + 8000);
  });

  it("never moves a deadline back for a late answer to an older renew", () => {
    const time = fakeClock();
    const clock = createLeaseClock({ ttlMs: 1000, safetyMarginMs: 100, now: time.now });
    const older = clock.beginRenew();
    time.advance(200);
    const newer = clock.beginRenew();
    clock.confirm(newer, [{ unitId: "u", epoch: toEpoch(1) }]);
    clock.confirm(older, [{ unitId: "u", epoch: toEpoch(1) }]);
    assert.equal(clock.deadline("u"), 1000 + 200 + 900);
    // A new epoch replaces the old one's deadline, later or not.
    clock.confirm(older, [{ unitId: "u", epoch: toEpoch(2) }]);
    assert.equal(clock.deadline("u"), 1000 + 900);
    assert.equal(clock.isTrusted("u", toEpoch(2)), true);
  });

  it("forgets lost units and keeps renewed ones", () => {
    const time = fakeClock();
    const clock = createLeaseClock({ ttlMs: 1000, safetyMarginMs: 100, now: time.now });
    clock.confirm(clock.beginRenew(), [
      { unitId: "a", epoch: toEpoch(1) },
      { unitId: "b", epoch: toEpoch(1) },
      { unitId: "c", epoch: toEpoch(5) },
    ]);
    time.advance(500);
    const ticket = clock.beginRenew();
    const result: RenewUnitsResult = {
      agent: { ok: true, created: false },
      units: [
        { unitId: "a", epoch: toEpoch(1), ok: true },
        { unitId: "b", epoch: toEpoch(1), ok: false, reason: "other-owner" },
        // A late answer about epoch 4 must not drop epoch 5.
        { unitId: "c", epoch: toEpoch(4), ok: false, reason: "stale-epoch" },
      ],
      lost: 2,
    };
    assert.deepEqual(clock.apply(ticket, result), ["b", "c"]);
    assert.equal(clock.deadline("a"), 1000 + 500 + 900);
    assert.equal(clock.isTrusted("b"), false);
    assert.equal(clock.deadline("b"), undefined);
    assert.equal(clock.isTrusted("c", toEpoch(5)), true);
    assert.deepEqual(clock.units().sort(), ["a", "c"]);
    clock.forget("a");
    assert.equal(clock.isTrusted("a"), false);
  });

  it("refuses a margin that leaves no lease", () => {
    for (const safetyMarginMs of [-1, 1000, 5000, Number.NaN]) {
      assert.throws(
        () => createLeaseClock({ ttlMs: 1000, safetyMarginMs }),
        (error: unknown) =>
          error instanceof LeaseError && error.code === "INVALID_ARGUMENT" && !error.retriable,
      );
    }
    assert.throws(() => createLeaseClock({ ttlMs: 0, safetyMarginMs: 0 }), /ttlMs/);
  });
});
