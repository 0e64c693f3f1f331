import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { FlowGroupConfig } from "@geo/config";
import { Code, GeoError } from "@geo/grpc";
import { createLogger } from "@geo/logging";
import { toEpoch } from "@geo/positions";
import type { RegionState, TransitionRecord } from "@geo/region-state";
import { ORDERS_GROUP, ordersGroupConfig } from "../testing";
import { AUTO_FAILOVER_ACTOR, decideAutoFailover, startAutoFailover } from "./auto-failover";
import type { TransitionRequest } from "./transition-runner";

const logger = createLogger({ service: "auto-failover-test", level: "silent" });
const GROUP = ORDERS_GROUP;
const config = (enabled: boolean): FlowGroupConfig =>
  ordersGroupConfig({
    drainTimeoutMs: 1000,
    catchUpTimeoutMs: 1000,
    autoFailover: { enabled, unreachableForMs: 10_000 },
  });
const STATE: RegionState = {
  flowGroup: "orders",
  activeRegion: "us-east",
  epoch: toEpoch(4),
  phase: "stable",
  previousActiveRegion: "",
  updateTimeMs: 0,
  updatedBy: "",
  reason: "",
  revision: 1,
};
const NOW = 1_000_000;
const downSince = (ms: number | undefined, failures = 5) => ({
  unreachableSinceMs: (cluster: string) =>
    cluster === "us-east" && ms !== undefined ? NOW - ms : undefined,
  consecutiveFailures: (cluster: string) => (cluster === "us-east" ? failures : 0),
});

describe("decideAutoFailover", () => {
  it("fails over to the other region once the active cluster was unreachable long enough", () => {
    const decision = decideAutoFailover(GROUP, config(true), STATE, downSince(12_000), NOW);
    assert.equal(decision.failover, true);
    assert.ok(decision.failover);
    assert.equal(decision.toRegion, "eu-west");
    assert.match(
      decision.reason,
      /^automatic failover: cluster us-east \(us-east\) unreachable for 12\.0 s, at least .*unreachableForMs 10000 ms$/,
    );
  });

  it("never when disabled, too early, answering, in a transition, or after a move (never twice)", () => {
    const cases: [FlowGroupConfig, RegionState, number | undefined, RegExp, number?][] = [
      [config(false), STATE, 60_000, /disabled/],
      [config(true), STATE, 60_000, /us-east failed 2 of the 3 probes a failover needs/, 2],
      [config(true), STATE, 9_000, /unreachable for 9000 ms, less than 10000 ms/],
      [config(true), STATE, undefined, /us-east answers/],
      [
        config(true),
        { ...STATE, transition: { id: "t1" } as RegionState["transition"] },
        60_000,
        /transition t1 is running/,
      ],
      [
        config(true),
        { ...STATE, phase: "failed-over", activeRegion: "eu-west" },
        60_000,
        /failed-over: after a move only an operator/,
      ],
    ];
    for (const [groupConfig, state, down, why, failures] of cases) {
      const decision = decideAutoFailover(
        GROUP,
        groupConfig,
        state,
        downSince(down, failures),
        NOW,
      );
      assert.equal(decision.failover, false);
      assert.ok(!decision.failover);
      assert.match(decision.why, why);
    }
  });
});

describe("startAutoFailover", () => {
  const record = (outcome: TransitionRecord["outcome"]) =>
    ({ id: "t", outcome, steps: [] }) as unknown as TransitionRecord;

  it("runs an unforced failover recorded as automatic, once; a refusal waits for the backoff", async () => {
    let state = STATE;
    const runs: TransitionRequest[] = [];
    let answer: () => Promise<TransitionRecord> = async () => {
      throw new GeoError(Code.FAILED_PRECONDITION, "failover refused, nothing changed");
    };
    const auto = startAutoFailover({
      groups: new Map([["orders", GROUP]]),
      groupConfigs: [config(true)],
      state: async () => state,
      run: async (request) => {
        runs.push(request);
        return { state, record: await answer() };
      },
      probes: {
        unreachableSinceMs: (c) => (c === "us-east" ? Date.now() - 20_000 : undefined),
        consecutiveFailures: (c) => (c === "us-east" ? 10 : 0),
      },
      logger,
      intervalMs: 3_600_000,
    });
    try {
      await auto.check();
      await auto.check(); // refused: the next attempt waits for the backoff
      assert.equal(runs.length, 1);
      assert.deepEqual(
        {
          kind: runs[0]!.kind,
          to: runs[0]!.targetRegion,
          epoch: runs[0]!.expectedEpoch,
          actor: runs[0]!.actor,
          force: runs[0]!.force,
          dryRun: runs[0]!.dryRun,
        },
        {
          kind: "failover",
          to: "eu-west",
          epoch: 4n,
          actor: AUTO_FAILOVER_ACTOR,
          force: false,
          dryRun: false,
        },
      );
      answer = async () => {
        state = { ...STATE, activeRegion: "eu-west", phase: "failed-over", epoch: toEpoch(5) };
        return record("succeeded");
      };
      // The same as the retry after the backoff (the check is what the loop calls).
      const retryAt = Date.now();
      while (runs.length === 1 && Date.now() - retryAt < 15_000) {
        await auto.check();
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(runs.length, 2);
      for (let i = 0; i < 3; i++) await auto.check();
      assert.equal(runs.length, 2, "never twice");
    } finally {
      await auto.stop();
    }
  });

  it("does nothing for a disabled group", async () => {
    let looked = 0;
    const auto = startAutoFailover({
      groups: new Map([["orders", GROUP]]),
      groupConfigs: [config(false)],
      state: async () => {
        looked++;
        return STATE;
      },
      run: async () => assert.fail("no failover when disabled"),
      probes: { unreachableSinceMs: () => 0, consecutiveFailures: () => 10 },
      logger,
      intervalMs: 10,
    });
    await auto.check();
    await auto.stop();
    assert.equal(looked, 0);
  });
});
