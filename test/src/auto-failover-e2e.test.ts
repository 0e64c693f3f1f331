// Automatic failover against the real thing (the rig of switchover-e2e) with two flow groups over
// the same pair: `orders` with autoFailover enabled after 8 s unreachable, `audit` with it off
// (the default). A consumer group stops halfway through a sequenced topic at us-east and is
// checkpointed into eu-west; then us-east's broker stops. The health service fails `orders` over
// by itself, no sooner than 8 s and within a bound, recorded as automatic with its reason, and
// the group continues at eu-west exactly; `audit` never moves, and `orders` never moves twice.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLogger } from "@geo/logging";
import { healthV1 } from "@geo/proto";
import {
  durationMs,
  GROUP,
  ordersGroup,
  REMOTE,
  type SwitchoverRig,
  sequenceCheck,
  startSwitchoverRig,
  TOPIC,
} from "./support/switchover-rig";
import { waitFor } from "./support/wait-for";

const logger = createLogger({ service: "auto-failover-e2e-test", level: "warn" });
const TOTAL = 1200;
const CONSUMED_AT_SOURCE = 500;
const UNREACHABLE_FOR_MS = 8000;
/** Generous on a loaded machine: probes time out after 5 s, then the failover runs. */
const BOUND_MS = 90_000;

let rig: SwitchoverRig;

before(async () => {
  rig = await startSwitchoverRig("auto-failover", logger, {
    flowGroups: `${ordersGroup(`, autoFailover: { enabled: true, unreachableForMs: ${UNREACHABLE_FOR_MS} }`)}
  - { name: audit, clusters: [us-east, eu-west] }`,
  });
  await rig.produce(0, TOTAL);
  await rig.startAgent("agent-eu-1");
});

after(async () => {
  await rig?.stop();
});

const stateOf = async (flowGroup: string) =>
  (await rig.client.getRegionState({ flowGroup, historyLimit: 100 })) as {
    state: healthV1.RegionState;
    transitions: healthV1.TransitionRecord[];
  };

describe("automatic failover (off by default) with us-east's broker stopped", () => {
  let consumedAtSource: number[] = [];

  it("the group stops halfway at us-east and is checkpointed into eu-west; nothing moves while us-east answers", async () => {
    consumedAtSource = await rig.consume(
      0,
      TOPIC,
      (seen) => seen.length >= CONSUMED_AT_SOURCE,
      60_000,
    );
    await rig.waitForCheckpoints(CONSUMED_AT_SOURCE);
    await rig.waitForReplicated(TOTAL);
    for (const group of ["orders", "audit"]) {
      const { state } = await stateOf(group);
      assert.equal(state.activeRegion, "us-east");
      assert.equal(state.epoch, "1");
    }
  });

  it("fails orders over by itself after us-east is unreachable for the configured time, once; audit (disabled) stays", async () => {
    const source = rig.stack.clusters[0]!;
    await source.stopBroker(source.brokers[0]!.nodeId);
    const stoppedAt = Date.now();
    let moved: healthV1.RegionState | undefined;
    await waitFor(
      "orders failed over automatically",
      async () => {
        const { state } = await stateOf("orders");
        if (state.activeRegion === "eu-west") moved = state;
        return moved !== undefined;
      },
      { timeoutMs: BOUND_MS, intervalMs: 500 },
    );
    const tookMs = Date.now() - stoppedAt;
    const record = moved!.lastTransition!;
    console.log(
      `auto failover: ${tookMs} ms after the broker stopped; ${record.steps.map((s) => `${s.name}: ${s.detail}`).join(" | ")}`,
    );
    assert.ok(tookMs >= UNREACHABLE_FOR_MS, `not before ${UNREACHABLE_FOR_MS} ms: ${tookMs}`);
    assert.equal(record.kind, healthV1.TransitionKind.FAILOVER);
    assert.equal(record.outcome, healthV1.TransitionOutcome.SUCCEEDED, record.error);
    assert.equal(record.actor, "health/auto-failover");
    assert.match(
      record.reason,
      /^automatic failover: cluster us-east \(us-east\) unreachable for [\d.]+ s, at least flowGroups\[\]\.autoFailover\.unreachableForMs 8000 ms$/,
    );
    // The same checks as a manual failover, unforced.
    assert.match(
      record.steps.find((s) => s.name === "check-source-down")!.detail,
      /^\d+ consecutive failed probes$/,
    );
    assert.equal(moved!.phase, healthV1.RegionPhase.FAILED_OVER);
    assert.equal(moved!.epoch, "2");

    const continued = await rig.consume(
      1,
      REMOTE,
      (seen) => consumedAtSource.length + seen.length >= TOTAL,
      90_000,
    );
    const { duplicates, misses } = sequenceCheck([...consumedAtSource, ...continued], TOTAL);
    console.log(
      `auto failover figures: ${tookMs} ms from broker stop to flip, RTO ${durationMs(record.rto).toFixed(0)} ms, ` +
        `${GROUP}: duplicates ${duplicates}, misses ${misses}`,
    );
    assert.equal(duplicates, 0);
    assert.equal(misses, 0);

    // Well past twice the configured time with us-east still down: no second move of orders,
    // and audit (autoFailover off) never moved.
    const quietUntil = stoppedAt + 3 * UNREACHABLE_FOR_MS + 10_000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, quietUntil - Date.now())));
    const orders = await stateOf("orders");
    assert.equal(orders.state.epoch, "2");
    assert.deepEqual(
      orders.transitions.filter((t) => !t.dryRun).map((t) => t.id),
      [record.id],
    );
    const audit = await stateOf("audit");
    assert.equal(audit.state.activeRegion, "us-east");
    assert.equal(audit.state.epoch, "1");
    assert.deepEqual(audit.transitions, []);
  });
});
