// The assignment loop's decisions without Redis or sessions: who may run units, where units go,
// and which lease operations move them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toEpoch } from "@geo/positions";
import {
  classifyAgent,
  type Holding,
  type PlanAgent,
  type PlanInput,
  type PlanLease,
  type PlanUnit,
  planRound,
} from "./plan";

const units = (count: number, region = "west"): PlanUnit[] =>
  Array.from({ length: count }, (_, i) => ({
    id: `f/t${i % 2}/${Math.floor(i / 2)}`,
    region,
    load: 0,
  }));
const agent = (id: string, extra: Partial<PlanAgent> = {}): PlanAgent => ({
  id,
  region: "west",
  connected: true,
  live: true,
  ...extra,
});
const input = (extra: Partial<PlanInput>): PlanInput => ({
  now: 1000,
  units: [],
  agents: [],
  leases: new Map(),
  lastDesired: new Map(),
  confirmed: new Map(),
  ...extra,
});
const countBy = (map: ReadonlyMap<string, string>) => {
  const counts = new Map<string, number>();
  for (const agentId of map.values()) counts.set(agentId, (counts.get(agentId) ?? 0) + 1);
  return Object.fromEntries([...counts].sort());
};
/** Leases and confirmations as if every unit ran where `owners` says, with epoch 1. */
const settled = (owners: ReadonlyMap<string, string>) => {
  const leases = new Map<string, PlanLease>();
  const confirmed = new Map<string, Holding>();
  for (const [unitId, owner] of owners) {
    leases.set(unitId, { owner, epoch: toEpoch(1), revoked: false });
    confirmed.set(unitId, { agentId: owner, epoch: toEpoch(1) });
  }
  return { leases, confirmed, lastDesired: new Map(owners) };
};

describe("classifyAgent", () => {
  it("active when connected and live, held while live within its hold, gone otherwise", () => {
    assert.equal(classifyAgent(agent("a"), 0), "active");
    assert.equal(classifyAgent(agent("a", { live: false }), 0), "gone");
    assert.equal(classifyAgent(agent("a", { connected: false, holdUntil: 10 }), 5), "held");
    assert.equal(classifyAgent(agent("a", { connected: false, holdUntil: 10 }), 10), "gone");
    assert.equal(classifyAgent(agent("a", { connected: false }), 5), "gone");
    assert.equal(
      classifyAgent(agent("a", { connected: false, live: false, holdUntil: 10 }), 5),
      "gone",
    );
  });
});

describe("planRound", () => {
  it("spreads new units evenly and grants every one", () => {
    const plan = planRound(
      input({ units: units(24), agents: [agent("a"), agent("b"), agent("c")] }),
    );
    assert.deepEqual(countBy(plan.desired), { a: 8, b: 8, c: 8 });
    assert.equal(plan.grants.size, 24);
    assert.equal(plan.revokes.length, 0);
    assert.equal(plan.unassigned.size, 0);
  });

  it("keeps confirmed ownerships without touching Redis", () => {
    const first = planRound(
      input({ units: units(24), agents: [agent("a"), agent("b"), agent("c")] }),
    );
    const plan = planRound(
      input({
        units: units(24),
        agents: [agent("a"), agent("b"), agent("c")],
        ...settled(first.desired),
      }),
    );
    assert.equal(plan.kept.size, 24);
    assert.equal(plan.grants.size, 0);
    assert.equal(plan.revokes.length, 0);
    assert.equal(plan.moved, 0);
  });

  it("confirms an ownership it has not confirmed in this term, or whose epoch changed", () => {
    const owners = new Map([
      ["f/t0/0", "a"],
      ["f/t1/0", "a"],
    ]);
    const { leases, lastDesired } = settled(owners);
    const plan = planRound(
      input({
        units: units(2),
        agents: [agent("a")],
        leases,
        lastDesired,
        confirmed: new Map([["f/t1/0", { agentId: "a", epoch: toEpoch(7) }]]),
      }),
    );
    assert.deepEqual([...plan.grants].sort(), [
      ["f/t0/0", "a"],
      ["f/t1/0", "a"],
    ]);
    assert.equal(plan.revokes.length, 0);
  });

  it("moves about 1/4 of the units to a fourth agent, each by revoking its live owner", () => {
    const first = planRound(
      input({ units: units(24), agents: [agent("a"), agent("b"), agent("c")] }),
    );
    const plan = planRound(
      input({
        units: units(24),
        agents: [agent("a"), agent("b"), agent("c"), agent("d")],
        ...settled(first.desired),
      }),
    );
    assert.deepEqual(countBy(plan.desired), { a: 6, b: 6, c: 6, d: 6 });
    assert.equal(plan.revokes.length, 6);
    assert.equal(plan.moved, 6);
    for (const revoke of plan.revokes) {
      assert.equal(plan.desired.get(revoke.unitId), "d");
      assert.equal(revoke.from, first.desired.get(revoke.unitId));
      assert.equal(revoke.epoch, 1n);
    }
    // Nothing is granted to d before its owners let go.
    assert.equal(plan.grants.size, 0);
    assert.equal(plan.kept.size, 18);
  });

  it("keeps a move's target while the revoke is pending, and grants once the lease is free", () => {
    const owners = new Map([["f/t0/0", "a"]]);
    const revoked = planRound(
      input({
        units: units(1),
        agents: [agent("a"), agent("b")],
        leases: new Map([["f/t0/0", { owner: "a", epoch: toEpoch(3), revoked: true }]]),
        lastDesired: new Map([["f/t0/0", "b"]]),
        confirmed: settled(owners).confirmed,
      }),
    );
    assert.equal(revoked.desired.get("f/t0/0"), "b");
    assert.equal(revoked.revokes.length, 0, "not revoked twice");
    // The lease store answers "revoking" until a is done; asking is how the loop learns when.
    assert.deepEqual([...revoked.grants], [["f/t0/0", "b"]]);

    const released = planRound(
      input({
        units: units(1),
        agents: [agent("a"), agent("b")],
        leases: new Map([["f/t0/0", { epoch: toEpoch(3), revoked: false }]]),
        lastDesired: new Map([["f/t0/0", "b"]]),
      }),
    );
    assert.deepEqual([...released.grants], [["f/t0/0", "b"]]);
  });

  it("moves only a dead agent's units, granting them at once (the lease store enforces grace)", () => {
    const agents = [agent("a"), agent("b"), agent("c")];
    const first = planRound(input({ units: units(24), agents }));
    const plan = planRound(
      input({
        units: units(24),
        agents: [agent("a"), agent("b"), agent("c", { live: false })],
        ...settled(first.desired),
      }),
    );
    assert.equal(plan.roles.get("c"), "gone");
    assert.deepEqual(countBy(plan.desired), { a: 12, b: 12 });
    const ofC = [...first.desired].filter(([, owner]) => owner === "c").map(([id]) => id);
    assert.deepEqual([...plan.grants.keys()].sort(), ofC.sort());
    assert.equal(plan.revokes.length, 0);
    assert.equal(plan.kept.size, 16);
  });

  it("lets a live agent without session keep its units during its hold, and gives it nothing new", () => {
    const first = planRound(input({ units: units(12), agents: [agent("a"), agent("b")] }));
    const held = agent("b", { connected: false, holdUntil: 2000 });
    const plan = planRound(
      input({
        now: 1500,
        units: units(16),
        agents: [agent("a"), held],
        ...settled(first.desired),
      }),
    );
    assert.equal(plan.roles.get("b"), "held");
    assert.deepEqual(countBy(plan.desired), { a: 10, b: 6 });
    assert.equal(plan.revokes.length, 0);
    assert.equal(plan.grants.size, 4, "the four new units go to a");
    for (const unitId of plan.grants.keys()) assert.equal(plan.desired.get(unitId), "a");

    // After the hold, the still-live owner is revoked (its renewals answer "revoked").
    const after = planRound(
      input({ now: 2000, units: units(12), agents: [agent("a"), held], ...settled(first.desired) }),
    );
    assert.equal(after.roles.get("b"), "gone");
    assert.deepEqual(countBy(after.desired), { a: 12 });
    assert.equal(after.revokes.length, 6);
    assert.ok(after.revokes.every((revoke) => revoke.from === "b"));
  });

  it("keeps regions apart and says when a region has no agent", () => {
    const plan = planRound(
      input({
        units: [...units(4, "west"), ...units(2, "east").map((u) => ({ ...u, id: `g${u.id}` }))],
        agents: [agent("w1"), agent("e1", { region: "east" }), agent("e2", { region: "nowhere" })],
      }),
    );
    assert.deepEqual(countBy(plan.desired), { e1: 2, w1: 4 });
    const noAgents = planRound(
      input({ units: units(3), agents: [agent("e1", { region: "east" })] }),
    );
    assert.equal(noAgents.desired.size, 0);
    assert.equal(noAgents.unassigned.size, 3);
    assert.match([...noAgents.unassigned.values()][0]!, /no live agent connected in region west/);
  });

  it("balances by measured load", () => {
    const loaded = units(12).map((unit, i) => ({ ...unit, load: i < 2 ? 10_000 : 1000 }));
    const plan = planRound(input({ units: loaded, agents: [agent("a"), agent("b"), agent("c")] }));
    const load = new Map<string, number>();
    for (const unit of loaded) {
      const owner = plan.desired.get(unit.id)!;
      load.set(owner, (load.get(owner) ?? 0) + unit.load);
    }
    const mean = [...load.values()].reduce((a, b) => a + b, 0) / 3;
    for (const value of load.values()) assert.ok(value <= mean * 1.3, `${value} vs mean ${mean}`);
  });
});
