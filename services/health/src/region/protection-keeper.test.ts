// The protection keeper's decisions: fakes for the coordinator, probes and ACLs, a real region
// store on Redis for the state and the protection lock it shares with transitions.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { waitFor } from "@geo/local-runtime";
import { createLogger } from "@geo/logging";
import { toEpoch } from "@geo/positions";
import type { RegionStore } from "@geo/region-state";
import { createFakes, type Fakes, ordersGroupConfig, ordersTransition } from "../testing";
import { useOrdersStore } from "../testing/region-store-fixture";
import {
  type ProtectionChange,
  type ProtectionKeeper,
  startProtectionKeeper,
} from "./protection-keeper";
import { createTransitionRunner } from "./transition-runner";

const lines: string[] = [];
const logger = createLogger({
  service: "protection-keeper-test",
  level: "info",
  destination: { write: (line: string) => void lines.push(line) },
});

const fixture = useOrdersStore(logger, "keeper-test");
let store: RegionStore;
let fakes: Fakes;
let changes: ProtectionChange[];
let failedPasses: string[];
const keepers: ProtectionKeeper[] = [];

beforeEach(() => {
  store = fixture.store;
  fakes = createFakes();
  changes = [];
  failedPasses = [];
  lines.length = 0;
});
// Before the stores close (the fixture's `after`): a keeper's loop reads its store.
afterEach(async () => {
  await Promise.all(keepers.splice(0).map((k) => k.stop()));
});

/** A keeper over the fakes; its loop runs only with an interval (otherwise: `pass` by hand). */
function keeper(reconcileIntervalMs = 0, guardTimeoutMs?: number): ProtectionKeeper {
  const started = startProtectionKeeper({
    store,
    groupConfigs: [ordersGroupConfig({ passiveProtection: { reconcileIntervalMs } })],
    deps: fakes,
    logger,
    ...(guardTimeoutMs === undefined ? {} : { guardTimeoutMs }),
    onChange: (change) => changes.push(change),
    onPassFailed: (group) => failedPasses.push(group),
  });
  keepers.push(started);
  return started;
}

const runnerOverFakes = () =>
  createTransitionRunner({
    store,
    deps: fakes,
    groupConfigs: [ordersGroupConfig()],
    logger,
    pollIntervalMs: 20,
  });

const until = (what: string, condition: () => boolean) =>
  waitFor(what, () => condition() || undefined, 5000);

const denied = (cluster: string) => [...(fakes.denied.get(cluster) ?? [])].sort();

describe("protection keeper (fakes, real Redis)", () => {
  it("protects the first passive region before any transition and lifts a stale deny on the active side", async () => {
    fakes.denied.set("us-east", new Set(["orders"])); // left by a transition that failed
    const k = keeper();
    const outcome = await k.pass("orders");
    assert.deepEqual(outcome, {
      kept: true,
      clusters: [
        { cluster: "us-east", active: true, topics: ["orders"], changed: ["orders"] },
        { cluster: "eu-west", active: false, topics: ["orders"], changed: ["orders"] },
      ],
    });
    assert.deepEqual(denied("us-east"), [], "the active side's applications write again");
    assert.deepEqual(denied("eu-west"), ["orders"], "heartbeats and local topics stay open");
    assert.deepEqual(changes, [
      { flowGroup: "orders", cluster: "us-east", change: "lifted", topics: ["orders"] },
      { flowGroup: "orders", cluster: "eu-west", change: "denied", topics: ["orders"] },
    ]);
    assert.deepEqual(k.protectedTopics(), [{ flowGroup: "orders", cluster: "eu-west", topics: 1 }]);
    assert.ok(lines.some((l) => l.includes("denied application writes to the passive side")));

    changes.length = 0;
    await k.pass("orders");
    assert.deepEqual(changes, [], "a second pass finds nothing to change");
  });

  it("protects a topic created on the passive side after the last pass, within its interval", async () => {
    fakes.flowList[0] = {
      ...fakes.flowList[0]!,
      topics: { include: ["orders", "orders\\..*"], exclude: [] },
    };
    keeper(500);
    await until("orders denied in eu-west", () => denied("eu-west").includes("orders"));
    fakes.topicsOf.get("eu-west")!.push("orders.late");
    await until("orders.late denied in eu-west", () => denied("eu-west").includes("orders.late"));
    assert.deepEqual(changes.at(-1), {
      flowGroup: "orders",
      cluster: "eu-west",
      change: "denied",
      topics: ["orders.late"],
    });
  });

  it("changes nothing while a transition runs", async () => {
    fakes.denied.set("us-east", new Set(["orders"]));
    const locked = await store.begin(
      {
        flowGroup: "orders",
        kind: "switchover",
        toRegion: "eu-west",
        expectedEpoch: toEpoch(1),
        actor: "alice",
        reason: "maintenance",
      },
      "switching-over",
    );
    const outcome = await keeper().pass("orders");
    assert.deepEqual(outcome, {
      kept: false,
      why: `switchover ${locked.transition!.id} is running`,
    });
    assert.deepEqual(denied("us-east"), ["orders"]);
    assert.deepEqual(denied("eu-west"), []);
  });

  it("skips the group while another holds its protection lock", async () => {
    const held = await store.takeProtectionLock("orders");
    assert.ok(held);
    assert.deepEqual(await keeper().pass("orders"), {
      kept: false,
      why: "the protection lock is held",
    });
    assert.deepEqual(denied("eu-west"), []);
    await held.release();
    assert.equal((await keeper().pass("orders")).kept, true);
    assert.deepEqual(denied("eu-west"), ["orders"]);
  });

  it("skips a cluster failing its probes and keeps the other", async () => {
    fakes.failures.set("eu-west", 2);
    fakes.unreachable.add("eu-west"); // it would throw if asked
    fakes.denied.set("us-east", new Set(["orders"]));
    const outcome = await keeper().pass("orders");
    assert.deepEqual(outcome, {
      kept: true,
      clusters: [
        { cluster: "us-east", active: true, topics: ["orders"], changed: ["orders"] },
        { cluster: "eu-west", active: false, skipped: "failed its last 2 probes" },
      ],
    });
    assert.deepEqual(denied("us-east"), []);
  });

  it("says once that a cluster has no authorizer, not at every pass", async () => {
    fakes.noAuthorizer.add("eu-west");
    const k = keeper();
    for (let i = 0; i < 3; i++) {
      const outcome = await k.pass("orders");
      assert.ok(outcome.kept);
      assert.deepEqual(outcome.clusters[1], {
        cluster: "eu-west",
        active: false,
        skipped: "no authorizer",
      });
    }
    assert.equal(lines.filter((l) => l.includes("has no authorizer")).length, 1);
    assert.deepEqual(k.protectedTopics(), []);
  });

  it("fails a pass whose cluster refuses, after keeping the other, and retries it with backoff", async () => {
    fakes.unreachable.add("us-east"); // answers the probes, refuses the admin calls
    const k = keeper(500);
    await until("a failed pass", () => failedPasses.length >= 1);
    assert.deepEqual(denied("eu-west"), ["orders"], "the passive side protected all the same");
    await assert.rejects(k.pass("orders"), /us-east: cluster us-east: connection refused/);
    assert.ok(lines.some((l) => l.includes("passive protection pass failed; retrying")));
  });

  it("starts no admin call with too little of its lock left (it could outlive the lock)", async () => {
    // The lock's 60 s minus a 5 s margin cannot hold a 56 s call.
    await assert.rejects(keeper(0, 56_000).pass("orders"), /the protection lock has \d+ ms left/);
    assert.deepEqual(denied("eu-west"), []);
  });

  it("bounds a pass's admin calls at 5 s, shorter than a transition's (which may wait for a pass)", async () => {
    const bounds: (number | undefined)[] = [];
    const { deny, allow } = fakes.writeGuard;
    fakes.writeGuard.deny = (cluster, select, timeoutMs) => {
      bounds.push(timeoutMs);
      return deny(cluster, select);
    };
    fakes.writeGuard.allow = (cluster, select, timeoutMs) => {
      bounds.push(timeoutMs);
      return allow(cluster, select);
    };
    await keeper().pass("orders");
    await keeper(0, 2000).pass("orders");
    assert.deepEqual(bounds, [5000, 5000, 2000, 2000]);
    bounds.length = 0;
    await runnerOverFakes().run(ordersTransition());
    assert.deepEqual(bounds, [undefined, undefined], "a transition's calls: the guard's own bound");
  });

  it("goes by the active region after a failover: the lost region is denied once it answers", async () => {
    const runner = runnerOverFakes();
    fakes.unreachable.add("us-east");
    fakes.failures.set("us-east", 3);
    const { state } = await runner.run(ordersTransition({ kind: "failover" }));
    assert.equal(state.phase, "failed-over");
    assert.deepEqual(denied("us-east"), [], "the failover could not protect the lost region");
    fakes.unreachable.clear();
    fakes.failures.clear();
    await keeper().pass("orders");
    assert.deepEqual(denied("us-east"), ["orders"]);
    assert.deepEqual(denied("eu-west"), []);
  });

  it("makes a transition wait for a pass holding the lock; the transition's ACLs win", async () => {
    const events: string[] = [];
    const deny = fakes.writeGuard.deny;
    let slow = true;
    fakes.writeGuard.deny = async (cluster, select) => {
      events.push(`deny ${cluster} starts`);
      if (slow) await new Promise((resolve) => setTimeout(resolve, 2500));
      events.push(`deny ${cluster} ends`);
      return deny(cluster, select);
    };
    const allow = fakes.writeGuard.allow;
    fakes.writeGuard.allow = async (cluster, select) => {
      events.push(`allow ${cluster}`);
      return allow(cluster, select);
    };
    const runner = runnerOverFakes();
    const pass = keeper().pass("orders");
    await until("the pass denying eu-west", () => events.includes("deny eu-west starts"));
    slow = false;
    const { state, record } = await runner.run(ordersTransition());
    assert.equal((await pass).kept, true);
    assert.equal(record.outcome, "succeeded", record.error);
    assert.equal(state.activeRegion, "eu-west");
    assert.deepEqual(events, [
      "allow us-east",
      "deny eu-west starts",
      "deny eu-west ends",
      "allow eu-west", // the transition's unprotect-active, only once the pass is over
      "deny us-east starts",
      "deny us-east ends",
    ]);
    assert.match(
      record.steps.find((s) => s.name === "unprotect-active")?.detail ?? "",
      /waited \d+ ms for a passive-protection pass/,
    );
    assert.deepEqual(denied("eu-west"), []);
    assert.deepEqual(denied("us-east"), ["orders"]);
  });
});
