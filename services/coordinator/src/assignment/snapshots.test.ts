import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "@geo/config";
import { toEpoch } from "@geo/positions";
import type { ConnectedAgent } from "./assignment-types";
import type { AgentRole, PlanLease } from "./plan";
import type { ActiveUnit } from "./round-inputs";
import { buildAgentSets, changedSnapshots, forgetClosedSessions } from "./snapshots";
import { createTerm } from "./term";

const config = parseConfig(
  `clusters:
  east: { bootstrapServers: ["127.0.0.1:1"] }
  west: { bootstrapServers: ["127.0.0.1:2"] }
flows:
  - { name: f1, source: east, target: west, topics: { include: [a] } }
  - { name: f2, source: east, target: west, topics: { include: [b] } }
`,
  { source: "snapshots.test", env: {} },
);
const [f1, f2] = config.flows as [(typeof config.flows)[0], (typeof config.flows)[0]];
const active = (flow: typeof f1, partition: number): ActiveUnit => {
  const unit = { flow: flow.name, sourceTopic: "t", partition, remoteTopic: "east.t" };
  return { unit, id: `${flow.name}/t/${partition}`, flow, region: "west" };
};
const newTerm = () =>
  createTerm({ epoch: toEpoch(1), token: "x", fence: { key: "leader", token: "x" } }, 0);
const session = (agentId: string, sessionId = `${agentId}-s`): ConnectedAgent => ({
  agentId,
  region: "west",
  sessionId,
  capacity: 1,
});

describe("buildAgentSets", () => {
  const units = [active(f1, 0), active(f2, 1), active(f1, 2)];
  const desired = new Map([
    ["f1/t/0", "a1"],
    ["f2/t/1", "a1"],
    ["f1/t/2", "a2"],
  ]);

  it("holds a unit once this term granted it to the desired agent and Redis still says so", () => {
    const term = newTerm();
    term.confirmed.set("f1/t/0", { agentId: "a1", epoch: toEpoch(4) });
    term.confirmed.set("f2/t/1", { agentId: "a1", epoch: toEpoch(2) });
    term.confirmed.set("f1/t/2", { agentId: "a2", epoch: toEpoch(7) });
    const leases = new Map<string, PlanLease>([
      ["f1/t/0", { owner: "a1", epoch: toEpoch(4), revoked: false }],
      ["f2/t/1", { owner: "a1", epoch: toEpoch(2), revoked: false }],
      // Revoked meanwhile: not in a2's set.
      ["f1/t/2", { owner: "a2", epoch: toEpoch(7), revoked: true }],
    ]);
    const sets = buildAgentSets(units, desired, term, leases, () => 1n);
    assert.deepEqual([...sets.keys()], ["a1"]);
    const a1 = sets.get("a1")!;
    assert.deepEqual(
      a1.units.map((u) => [u.unit?.flow, u.unit?.partition, u.epoch, u.flow?.name]),
      [
        ["f1", 0, "4", "f1"],
        ["f2", 1, "2", "f2"],
      ],
    );
    assert.match(a1.signature, /^f1\/t\/0@4,f2\/t\/1@2\|/);
  });

  it("changes the signature when an epoch or a flow's version changes", () => {
    const term = newTerm();
    term.confirmed.set("f1/t/0", { agentId: "a1", epoch: toEpoch(4) });
    const leases = new Map<string, PlanLease>([
      ["f1/t/0", { owner: "a1", epoch: toEpoch(4), revoked: false }],
    ]);
    const signature = (version: bigint) =>
      buildAgentSets(units, desired, term, leases, () => version).get("a1")!.signature;
    const before = signature(1n);
    assert.equal(signature(1n), before);
    assert.notEqual(signature(2n), before);
    term.confirmed.set("f1/t/0", { agentId: "a1", epoch: toEpoch(5) });
    leases.set("f1/t/0", { owner: "a1", epoch: toEpoch(5), revoked: false });
    assert.notEqual(signature(1n), before);
  });
});

describe("changedSnapshots", () => {
  it("sends a session its set when it changed, and the first one only once the agent is active", () => {
    const term = newTerm();
    const sets = new Map([["a1", { units: [], signature: "u@1" }]]);
    const roles = new Map<string, AgentRole>([
      ["a1", "active"],
      ["a2", "gone"],
    ]);
    const sessions = [session("a1"), session("a2")];
    const first = changedSnapshots(sessions, sets, term, roles);
    assert.deepEqual(
      first.map(({ session, set }) => [session.agentId, set.signature]),
      [["a1", "u@1"]],
    );
    term.snapshots.set("a1-s", "u@1");
    term.snapshots.set("a2-s", "old");
    const next = changedSnapshots(sessions, sets, term, roles);
    // a1 unchanged; a2 was sent a set before, so it gets its now empty one even while not active.
    assert.deepEqual(
      next.map(({ session, set }) => [session.agentId, set.signature, set.units.length]),
      [["a2", "", 0]],
    );
    const again = changedSnapshots(sessions, sets, term, roles);
    assert.notEqual(again[0]?.set.units, next[0]?.set.units, "each empty set is its own list");
  });
});

describe("forgetClosedSessions", () => {
  it("forgets what was sent on sessions no longer open", () => {
    const term = newTerm();
    term.snapshots.set("open", "x");
    term.snapshots.set("closed", "y");
    forgetClosedSessions(term, [session("a1", "open")]);
    assert.deepEqual([...term.snapshots.keys()], ["open"]);
  });
});
