import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, GeoError } from "@geo/grpc";
import { toEpoch } from "@geo/positions";
import { createMemoryRegionLog, type RegionLog } from "./region-log";
import { createRegionStore, type RegionStore, type RegionStoreOptions } from "./region-store";
import {
  ORDERS,
  PAYMENTS,
  silentLogger,
  uniquePrefix,
  useTestRedis,
  waitFor,
} from "./test-support";
import { normalizeState, type RegionState, type StepRecord } from "./types";

const fixture = useTestRedis();
const { stores } = fixture;

async function openStore(
  keyPrefix: string,
  log: RegionLog,
  extra: Partial<RegionStoreOptions> = {},
): Promise<RegionStore> {
  const store = createRegionStore({
    redis: fixture.redis,
    keyPrefix,
    groups: [ORDERS, PAYMENTS],
    log,
    logger: silentLogger,
    resyncIntervalMs: 200,
    ...extra,
  });
  stores.push(store);
  store.start();
  await store.whenReady();
  return store;
}

const switchover = (expectedEpoch: number | bigint, toRegion = "eu-west") => ({
  flowGroup: "orders",
  kind: "switchover" as const,
  toRegion,
  expectedEpoch: toEpoch(expectedEpoch),
  actor: "test",
  reason: "planned",
});

const step = (name: string, ok = true): StepRecord => ({
  name,
  description: `${name} step`,
  startTimeMs: Date.now(),
  durationMs: 3,
  ok,
  detail: ok ? "" : "boom",
});

async function refusal(promise: Promise<unknown>): Promise<GeoError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof GeoError, String(error));
    return error;
  }
  assert.fail("expected a GeoError");
}

describe("region store (real Redis)", () => {
  it("starts every group at epoch 1 with its configured active region", async () => {
    const store = await openStore(uniquePrefix("initial"), createMemoryRegionLog());
    const states = await store.list();
    assert.deepEqual(
      states.map((s) => [s.flowGroup, s.activeRegion, s.epoch, s.phase, s.updatedBy]),
      [
        ["orders", "us-east", 1n, "stable", "config"],
        ["payments", "eu-west", 1n, "stable", "config"],
      ],
    );
    assert.deepEqual(await store.history("orders", 10), []);
  });

  it("records a switchover step by step, flips under a new epoch and persists in both clusters", async () => {
    const log = createMemoryRegionLog();
    const store = await openStore(uniquePrefix("flip"), log);
    const locked = await store.begin(switchover(1), "switching-over");
    assert.equal(locked.phase, "switching-over");
    assert.equal(locked.activeRegion, "us-east", "the old region stays active while draining");
    const id = locked.transition!.id;
    await store.step("orders", id, step("drain"));
    await store.step("orders", id, step("commit-offsets"));
    const { state, record } = await store.finish("orders", id, {
      outcome: "succeeded",
      flip: true,
      phase: "stable",
      rtoMs: 1234,
      rpoRecords: 0n,
    });
    assert.equal(state.activeRegion, "eu-west");
    assert.equal(state.previousActiveRegion, "us-east");
    assert.equal(state.epoch, 2n);
    assert.equal(state.phase, "stable");
    assert.equal(state.transition, undefined);
    assert.equal(record.outcome, "succeeded");
    assert.deepEqual(
      record.steps.map((s) => s.name),
      ["drain", "commit-offsets"],
    );
    assert.equal(record.epochBefore, 1n);
    assert.equal(record.epochAfter, 2n);
    assert.equal(record.fromRegion, "us-east");
    assert.equal(record.rtoMs, 1234);
    assert.equal(record.rpoRecords, "0");
    assert.equal(state.lastTransition?.id, id);
    assert.deepEqual(
      (await store.history("orders", 10)).map((r) => r.id),
      [id],
    );
    for (const cluster of ["us-east", "eu-west"]) {
      const entries = log.entries.get(cluster) ?? [];
      const states = entries.flatMap((e) => (e.type === "state" ? [e.state] : []));
      assert.equal(states.at(-1)?.epoch, 2n, `cluster ${cluster} holds the new epoch`);
      assert.ok(entries.some((e) => e.type === "transition" && e.record.id === id));
    }
  });

  it("answers a failover once the new active region's copy is written, not waiting for the lost region's hanging brokers; its copy follows later", async (t) => {
    const memory = createMemoryRegionLog();
    let release: () => void = () => {};
    const hung = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A failed assertion must not leave the store's close waiting on the hung write.
    t.after(() => release());
    // us-east's brokers accept the connection and never answer, as a lost region's may.
    const log: RegionLog = {
      ...memory,
      append: async (alias, added) => {
        if (alias === "us-east") await hung;
        await memory.append(alias, added);
      },
    };
    const store = await openStore(uniquePrefix("hung"), log);
    const locked = await store.begin(
      { ...switchover(1), kind: "failover" as const },
      "failing-over",
    );
    const started = performance.now();
    const { state } = await store.finish("orders", locked.transition!.id, {
      outcome: "succeeded",
      flip: true,
      phase: "failed-over",
    });
    const tookMs = performance.now() - started;
    assert.equal(state.activeRegion, "eu-west");
    // It waits for the new active region's copy only, not for the 2 s bound on the lost one.
    assert.ok(tookMs < 1500, `finish took ${Math.round(tookMs)} ms with us-east hanging`);
    const westStates = (memory.entries.get("eu-west") ?? []).filter((e) => e.type === "state");
    assert.equal(
      westStates.at(-1)?.type === "state" ? westStates.at(-1)?.state.activeRegion : undefined,
      "eu-west",
      "eu-west's copy holds the flip when finish answers",
    );
    const eastStates = () =>
      (memory.entries.get("us-east") ?? []).filter((e) => e.type === "state").length;
    const before = eastStates();
    release();
    await waitFor("the new state written to us-east once it answers", () =>
      eastStates() > before ? true : undefined,
    );
  });

  it("refuses bad transitions clearly and changes nothing", async () => {
    const store = await openStore(uniquePrefix("refuse"), createMemoryRegionLog());
    const before = await store.get("orders");
    const cases: [() => Promise<unknown>, Code, RegExp][] = [
      [
        () => store.begin(switchover(0), "switching-over"),
        Code.INVALID_ARGUMENT,
        /expected_epoch is required/,
      ],
      [
        () => store.begin(switchover(7), "switching-over"),
        Code.ABORTED,
        /expected_epoch 7 is stale: .* epoch 1/,
      ],
      [
        () => store.begin({ ...switchover(1), flowGroup: "nope" }, "switching-over"),
        Code.NOT_FOUND,
        /known flow groups: orders, payments/,
      ],
      [
        () => store.begin(switchover(1, "mars"), "switching-over"),
        Code.INVALID_ARGUMENT,
        /"mars" is not part of flow group "orders"/,
      ],
      [
        () => store.begin(switchover(1, "us-east"), "switching-over"),
        Code.FAILED_PRECONDITION,
        /already active/,
      ],
    ];
    for (const [promise, code, message] of cases) {
      const error = await refusal(promise());
      assert.equal(error.code, code, error.message);
      assert.match(error.message, message);
    }
    assert.deepEqual(await store.get("orders"), before);
    assert.deepEqual(await store.history("orders", 10), []);
  });

  it("lets exactly one of two racing services take the lock; the other gets FAILED_PRECONDITION", async () => {
    const prefix = uniquePrefix("race");
    const log = createMemoryRegionLog();
    const first = await openStore(prefix, log);
    const second = await openStore(prefix, log);
    const results = await Promise.allSettled([
      first.begin(switchover(1), "switching-over"),
      second.begin(switchover(1), "switching-over"),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    assert.equal((lost[0]!.reason as GeoError).code, Code.FAILED_PRECONDITION);
    assert.match(
      (lost[0]!.reason as GeoError).message,
      /already in a transition: switchover .* by test/,
    );
  });

  it("records an expired lock as abandoned; its owner can no longer step or finish", async () => {
    const store = await openStore(uniquePrefix("expire"), createMemoryRegionLog(), {
      lockTtlMs: 300,
    });
    const first = await store.begin(switchover(1), "switching-over");
    await new Promise((resolve) => setTimeout(resolve, 400));
    const second = await store.begin(switchover(1), "switching-over");
    assert.notEqual(second.transition?.id, first.transition?.id);
    const [abandoned] = await store.history("orders", 10);
    assert.equal(abandoned?.id, first.transition?.id);
    assert.equal(abandoned?.outcome, "abandoned");
    const error = await refusal(store.step("orders", first.transition!.id, step("drain")));
    assert.equal(error.code, Code.ABORTED);
    assert.match(error.message, /no longer holds the lock/);
    const failed = await store.finish("orders", second.transition!.id, {
      outcome: "failed",
      flip: false,
      error: "x",
    });
    assert.equal(failed.state.phase, "stable");
    assert.equal(failed.state.activeRegion, "us-east");
    assert.equal(failed.state.epoch, 1n, "a failed transition does not move the epoch");
  });

  it("rebuilds an empty Redis from the region topic: the active region and epoch survive", async () => {
    const prefix = uniquePrefix("empty");
    const log = createMemoryRegionLog();
    const store = await openStore(prefix, log);
    const locked = await store.begin(switchover(1), "switching-over");
    await store.finish("orders", locked.transition!.id, {
      outcome: "succeeded",
      flip: true,
      phase: "stable",
    });
    await store.close();
    const keys = await fixture.redis.keys(`${prefix}*`);
    await fixture.redis.del(...keys);
    const restarted = await openStore(prefix, log);
    const state = await restarted.get("orders");
    assert.equal(state.activeRegion, "eu-west");
    assert.equal(state.epoch, 2n);
    assert.equal((await restarted.history("orders", 5))[0]?.id, locked.transition!.id);
    // The next transition continues from epoch 2, never reusing an old epoch.
    const next = await restarted.begin(switchover(2, "us-east"), "switching-over");
    const done = await restarted.finish("orders", next.transition!.id, {
      outcome: "succeeded",
      flip: true,
      phase: "stable",
    });
    assert.equal(done.state.epoch, 3n);
  });

  it("puts back a state Redis lost while running, from what it last saw", async () => {
    const prefix = uniquePrefix("lost");
    const store = await openStore(prefix, createMemoryRegionLog());
    const locked = await store.begin(switchover(1), "switching-over");
    await store.finish("orders", locked.transition!.id, {
      outcome: "succeeded",
      flip: true,
      phase: "stable",
    });
    await fixture.redis.del(`${prefix}region:state:orders`);
    const state = await waitFor("the state back in Redis", async () => {
      const json = await fixture.redis.get(`${prefix}region:state:orders`);
      return json === null ? undefined : normalizeState(JSON.parse(json));
    });
    assert.equal(state.epoch, 2n);
    assert.equal(state.activeRegion, "eu-west");
  });

  it("restores from the newer cluster and brings the older one up to date", async () => {
    const prefix = uniquePrefix("newer");
    const log = createMemoryRegionLog();
    const older: RegionState = {
      flowGroup: "orders",
      activeRegion: "eu-west",
      epoch: toEpoch(2),
      phase: "stable",
      previousActiveRegion: "us-east",
      updateTimeMs: 1,
      updatedBy: "x",
      reason: "",
      revision: 5,
    };
    const newer: RegionState = {
      ...older,
      activeRegion: "us-east",
      previousActiveRegion: "eu-west",
      epoch: toEpoch(3),
      revision: 7,
    };
    log.entries.set("us-east", [{ type: "state", state: newer }]);
    log.entries.set("eu-west", [{ type: "state", state: older }]);
    const store = await openStore(prefix, log);
    assert.equal((await store.get("orders")).epoch, 3n);
    await waitFor("eu-west's topic updated", () =>
      log.entries.get("eu-west")?.some((e) => e.type === "state" && e.state.epoch === 3n)
        ? true
        : undefined,
    );
  });

  it("waits while neither cluster of a group can be read, then restores", async () => {
    const log = createMemoryRegionLog();
    log.failing.add("us-east").add("eu-west");
    const store = createRegionStore({
      redis: fixture.redis,
      keyPrefix: uniquePrefix("wait"),
      groups: [ORDERS],
      log,
      logger: silentLogger,
    });
    stores.push(store);
    store.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const error = await refusal(store.get("orders"));
    assert.equal(error.code, Code.UNAVAILABLE);
    log.failing.delete("eu-west");
    await store.whenReady();
    assert.equal((await store.get("orders")).activeRegion, "us-east");
  });

  it("streams the current state, then every change in order, across services", async () => {
    const prefix = uniquePrefix("watch");
    const log = createMemoryRegionLog();
    const writer = await openStore(prefix, log);
    const reader = await openStore(prefix, log);
    const seen: [string, bigint, string, boolean][] = [];
    const stop = reader.watch(["orders"], (s, initial) =>
      seen.push([s.activeRegion, s.epoch, s.phase, initial]),
    );
    let epoch = 1n;
    for (const to of ["eu-west", "us-east", "eu-west"]) {
      const locked = await writer.begin(switchover(epoch, to), "switching-over");
      const { state } = await writer.finish("orders", locked.transition!.id, {
        outcome: "succeeded",
        flip: true,
        phase: "stable",
      });
      epoch = state.epoch;
    }
    await waitFor("all changes seen", () => (seen.length >= 7 ? true : undefined));
    stop();
    assert.deepEqual(seen, [
      ["us-east", 1n, "stable", true],
      ["us-east", 1n, "switching-over", false],
      ["eu-west", 2n, "stable", false],
      ["eu-west", 2n, "switching-over", false],
      ["us-east", 3n, "stable", false],
      ["us-east", 3n, "switching-over", false],
      ["eu-west", 4n, "stable", false],
    ]);
  });

  it("keeps a drill's report in the history without touching the state", async () => {
    const store = await openStore(uniquePrefix("drill"), createMemoryRegionLog());
    const before = await store.get("orders");
    const kept = await store.recordDrill({
      id: "drill-1",
      flowGroup: "orders",
      kind: "switchover",
      fromRegion: "us-east",
      toRegion: "eu-west",
      actor: "test",
      reason: "quarterly drill",
      startTimeMs: Date.now(),
      dryRun: true,
      outcome: "drill-passed",
      epochBefore: toEpoch(1),
      epochAfter: toEpoch(1),
      steps: [step("check-agents")],
    });
    assert.ok(kept.endTimeMs !== undefined);
    assert.deepEqual(await store.get("orders"), before);
    assert.equal((await store.history("orders", 1))[0]?.outcome, "drill-passed");
  });
});
