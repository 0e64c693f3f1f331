import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AssignmentError } from "./assignment-error";
import {
  type AssignmentAgent,
  type AssignmentResult,
  type AssignmentUnit,
  computeAssignment,
} from "./compute-assignment";

// mulberry32: tests need varied but reproducible loads.
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeUnits(count: number, load: (i: number) => number): AssignmentUnit[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `flow-1/topic-${Math.floor(i / 32)}/${i % 32}`,
    load: load(i),
  }));
}

function makeAgents(count: number, from = 0): AssignmentAgent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `agent-${String(from + i).padStart(3, "0")}`,
  }));
}

function perAgent(result: AssignmentResult, units: readonly AssignmentUnit[]) {
  const load = new Map<string, number>();
  const count = new Map<string, number>();
  for (const unit of units) {
    const agent = result.assignment.get(unit.id);
    assert.ok(agent !== undefined, `${unit.id} is assigned`);
    load.set(agent, (load.get(agent) ?? 0) + unit.load);
    count.set(agent, (count.get(agent) ?? 0) + 1);
  }
  return { load, count };
}

function countSpread(result: AssignmentResult, units: readonly AssignmentUnit[], agents: number) {
  const { count } = perAgent(result, units);
  const counts = [...count.values()];
  while (counts.length < agents) counts.push(0);
  return Math.max(...counts) - Math.min(...counts);
}

function skewedLoads(count: number, seed: number): number[] {
  const random = seeded(seed);
  return Array.from({ length: count }, () => {
    const base = 1000 + random() * 1000;
    return random() < 0.1 ? base * 10 : base;
  });
}

describe("computeAssignment: empty and invalid input", () => {
  test("no units and no agents", () => {
    const result = computeAssignment({ units: [], agents: [], previous: new Map() });
    assert.equal(result.assignment.size, 0);
    assert.deepEqual(result.moves, []);
    assert.deepEqual(result.unassigned, []);
  });

  test("agents without units", () => {
    const result = computeAssignment({ units: [], agents: makeAgents(3) });
    assert.equal(result.assignment.size, 0);
    assert.equal(result.stats.agents, 3);
    assert.equal(result.stats.maxUnits, 0);
  });

  test("units without agents are all reported unassigned", () => {
    const units = makeUnits(5, () => 10);
    const previous = new Map([[units[0]!.id, "gone"]]);
    const result = computeAssignment({ units, agents: [], previous });
    assert.equal(result.assignment.size, 0);
    assert.deepEqual(result.moves, []);
    assert.deepEqual(
      result.unassigned,
      units.map((unit) => unit.id),
    );
    assert.equal(result.stats.unassigned, 5);
    assert.equal(result.stats.totalLoad, 50);
  });

  test("refuses what it cannot assign without guessing", () => {
    const agents = makeAgents(2);
    const refuse = (code: string, run: () => unknown) =>
      assert.throws(
        run,
        (error: unknown) => error instanceof AssignmentError && error.code === code,
      );
    refuse("DUPLICATE_UNIT", () =>
      computeAssignment({
        units: [
          { id: "u", load: 1 },
          { id: "u", load: 2 },
        ],
        agents,
      }),
    );
    refuse("INVALID_UNIT", () => computeAssignment({ units: [{ id: "u", load: -1 }], agents }));
    refuse("INVALID_UNIT", () =>
      computeAssignment({ units: [{ id: "u", load: Number.NaN }], agents }),
    );
    refuse("INVALID_UNIT", () =>
      computeAssignment({ units: [{ id: "u", load: Infinity }], agents }),
    );
    refuse("INVALID_UNIT", () => computeAssignment({ units: [{ id: "", load: 1 }], agents }));
    refuse("DUPLICATE_AGENT", () =>
      computeAssignment({ units: [], agents: [{ id: "a" }, { id: "a" }] }),
    );
    refuse("INVALID_AGENT", () =>
      computeAssignment({ units: [], agents: [{ id: "a", capacity: 0 }] }),
    );
    refuse("INVALID_OPTION", () => computeAssignment({ units: [], agents }, { maxLoadRatio: 0.9 }));
  });
});

describe("computeAssignment: spread", () => {
  test("equal units spread evenly by count", () => {
    for (const load of [0, 500]) {
      const units = makeUnits(1000, () => load);
      const result = computeAssignment({ units, agents: makeAgents(7) });
      assert.ok(countSpread(result, units, 7) <= 1, `load ${load}`);
      assert.equal(result.stats.maxUnits - result.stats.minUnits, 1);
      assert.equal(result.moves.length, 1000);
      assert.ok(result.moves.every((move) => move.from === undefined));
    }
  });

  test("idle units spread by count beside loaded ones", () => {
    const random = seeded(3);
    const units = makeUnits(600, (i) => (i % 3 === 0 ? 0 : 100 + random() * 900));
    const result = computeAssignment({ units, agents: makeAgents(9) });
    const idle = units.filter((unit) => unit.load === 0);
    assert.ok(countSpread(result, idle, 9) <= 1);
    assert.ok(result.stats.maxOverMean <= 1.05, String(result.stats.maxOverMean));
  });

  test("fewer units than agents: one each at most", () => {
    const units = makeUnits(3, (i) => 10 * (i + 1));
    const result = computeAssignment({ units, agents: makeAgents(5) });
    assert.equal(new Set(result.assignment.values()).size, 3);
  });

  test("capacity weights the share", () => {
    const random = seeded(11);
    const units = makeUnits(900, () => 100 + random() * 100);
    const agents = [{ id: "big", capacity: 2 }, { id: "small-1" }, { id: "small-2" }];
    const result = computeAssignment({ units, agents });
    const { load } = perAgent(result, units);
    const ratio = load.get("big")! / load.get("small-1")!;
    assert.ok(ratio > 1.9 && ratio < 2.1, String(ratio));
    assert.ok(result.stats.maxOverMean < 1.05);
    const idle = makeUnits(40, () => 0);
    const byCount = perAgent(computeAssignment({ units: idle, agents }), idle).count;
    assert.deepEqual(
      [byCount.get("big"), byCount.get("small-1"), byCount.get("small-2")],
      [20, 10, 10],
    );
  });
});

describe("computeAssignment: stickiness", () => {
  const scenarios: [string, (i: number) => number][] = [
    ["equal load", () => 1000],
    ["idle", () => 0],
    [
      "random load",
      (() => {
        const random = seeded(5);
        return () => 100 + random() * 10_000;
      })(),
    ],
  ];

  for (const [name, load] of scenarios) {
    test(`${name}: a joining agent takes about 1/N of the units, all moving to it`, () => {
      const units = makeUnits(480, load);
      const before = computeAssignment({ units, agents: makeAgents(12) });
      const agents = makeAgents(13);
      const after = computeAssignment({ units, agents, previous: before.assignment });
      const share = Math.ceil(480 / 13);
      assert.ok(after.moves.length <= share + 2, `${after.moves.length} moves`);
      assert.ok(after.moves.length >= Math.floor(share / 3), `${after.moves.length} moves`);
      assert.ok(after.moves.every((move) => move.to === "agent-012"));
      assert.ok(after.stats.withinBound);
      assert.ok(after.stats.minLoad >= after.stats.meanLoad / 1.3);
      if (name !== "random load") assert.ok(countSpread(after, units, 13) <= 1);
    });

    test(`${name}: when an agent leaves only its units move`, () => {
      const units = makeUnits(480, load);
      const before = computeAssignment({ units, agents: makeAgents(12) });
      const departed = "agent-005";
      const held = [...before.assignment].filter(([, agent]) => agent === departed).length;
      const agents = makeAgents(12).filter((agent) => agent.id !== departed);
      const after = computeAssignment({ units, agents, previous: before.assignment });
      assert.equal(after.moves.length, held);
      assert.ok(after.moves.every((move) => move.from === departed && move.to !== departed));
      assert.ok(after.stats.withinBound);
    });

    test(`${name}: the same input gives zero moves`, () => {
      const units = makeUnits(480, load);
      const first = computeAssignment({ units, agents: makeAgents(12) });
      const second = computeAssignment({
        units,
        agents: makeAgents(12),
        previous: first.assignment,
      });
      assert.deepEqual(second.moves, []);
      assert.deepEqual([...second.assignment], [...first.assignment]);
    });
  }

  test("previous agents that are gone or unknown count as unassigned", () => {
    const units = makeUnits(20, () => 10);
    const previous = new Map(units.map((unit, i) => [unit.id, i < 10 ? "agent-000" : "ghost"]));
    const result = computeAssignment({ units, agents: makeAgents(2), previous });
    const moved = result.moves.filter((move) => move.from === "ghost");
    assert.equal(moved.length, 10);
    assert.ok(moved.every((move) => move.to === "agent-001"));
    assert.equal(result.moves.length, 10);
  });

  test("load changes inside the band move nothing", () => {
    const random = seeded(8);
    const units = makeUnits(480, () => 1000 + random() * 1000);
    const first = computeAssignment({ units, agents: makeAgents(12) });
    const drifted = units.map((unit) => ({
      id: unit.id,
      load: unit.load * (0.9 + random() * 0.2),
    }));
    const second = computeAssignment({
      units: drifted,
      agents: makeAgents(12),
      previous: first.assignment,
    });
    assert.deepEqual(second.moves, []);
  });

  test("an agent holding everything gives away only what balance needs", () => {
    const random = seeded(13);
    const units = makeUnits(480, () => 500 + random() * 1000);
    const previous = new Map(units.map((unit) => [unit.id, "agent-000"]));
    const result = computeAssignment({ units, agents: makeAgents(12), previous });
    assert.ok(result.stats.withinBound);
    assert.ok(result.stats.minLoad >= result.stats.meanLoad / 1.3);
    // It sheds down to the bound, not to the mean, and its heaviest units first.
    const kept = perAgent(result, units).load.get("agent-000")! / result.stats.meanLoad;
    assert.ok(kept > 1.2 && kept <= 1.3, `kept ${kept} of a share`);
    assert.ok(result.moves.length < 480 - 480 / 12, `${result.moves.length} moves`);
    assert.ok(result.moves.every((move) => move.from === "agent-000"));
  });

  test("stickiness yields only as far as the bound needs", () => {
    const base = makeUnits(480, () => 1500);
    const first = computeAssignment({ units: base, agents: makeAgents(12) });
    const loads = skewedLoads(480, 21);
    const skewed = base.map((unit, i) => ({ id: unit.id, load: loads[i]! }));
    const second = computeAssignment({
      units: skewed,
      agents: makeAgents(12),
      previous: first.assignment,
    });
    assert.ok(second.stats.maxOverMean <= 1.3, String(second.stats.maxOverMean));
    assert.ok(second.moves.length < 480 / 4, `${second.moves.length} moves`);
    const fresh = computeAssignment({ units: skewed, agents: makeAgents(12) });
    const third = computeAssignment({
      units: skewed,
      agents: makeAgents(12),
      previous: second.assignment,
    });
    assert.deepEqual(third.moves, []);
    assert.ok(fresh.stats.maxOverMean <= second.stats.maxOverMean);
  });
});

describe("computeAssignment: skewed load", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    test(`480 units, 10% at 10x, over 12 agents stay within 1.3x of the mean (seed ${seed})`, () => {
      const loads = skewedLoads(480, seed);
      const units = makeUnits(480, (i) => loads[i]!);
      const result = computeAssignment({ units, agents: makeAgents(12) });
      const { load } = perAgent(result, units);
      const mean = result.stats.totalLoad / 12;
      for (const value of load.values()) assert.ok(value <= 1.3 * mean, `${value / mean}`);
      assert.ok(result.stats.maxOverMean <= 1.3);
      assert.ok(result.stats.withinBound);

      // A join and a leave keep the bound too.
      const joined = computeAssignment({
        units,
        agents: makeAgents(13),
        previous: result.assignment,
      });
      assert.ok(joined.stats.maxOverMean <= 1.3, String(joined.stats.maxOverMean));
      assert.ok(joined.moves.every((move) => move.to === "agent-012"));
      assert.ok(joined.stats.minLoad >= joined.stats.meanLoad / 1.3, "the new agent is used");
      assert.ok(joined.moves.length <= Math.ceil(480 / 13) + 2);
      const left = computeAssignment({
        units,
        agents: makeAgents(11),
        previous: result.assignment,
      });
      assert.ok(left.stats.maxOverMean <= 1.3, String(left.stats.maxOverMean));
    });
  }

  test("an agent holding two heavy units trades one for lighter ones", () => {
    const units = [
      { id: "heavy-1", load: 10_000 },
      { id: "heavy-2", load: 10_000 },
      ...makeUnits(30, () => 1000),
    ];
    const previous = new Map(
      units.map((unit, i) => [unit.id, `agent-00${i < 2 ? 0 : 1 + (i % 3)}`]),
    );
    const agents = makeAgents(4);
    const result = computeAssignment({ units, agents, previous });
    assert.ok(result.stats.withinBound, String(result.stats.maxOverMean));
    assert.ok(result.moves.length <= 6, `${result.moves.length} moves`);
    assert.deepEqual(computeAssignment({ units, agents, previous: result.assignment }).moves, []);
  });

  test("a unit heavier than all the others together is reported and does not loop", () => {
    const units = [{ id: "whale", load: 1_000_000 }, ...makeUnits(50, () => 100)];
    // Start from the worst place: everything on one agent.
    const previous = new Map(units.map((unit) => [unit.id, "agent-000"]));
    const agents = makeAgents(4);
    const result = computeAssignment({ units, agents, previous });
    assert.deepEqual(result.stats.oversizeUnits, ["whale"]);
    assert.ok(result.stats.withinBound);
    assert.ok(result.stats.maxOverMean > 1.3);
    const whaleAgent = result.assignment.get("whale");
    assert.equal(whaleAgent, "agent-000", "the whale stays where it was");
    assert.equal([...result.assignment.values()].filter((agent) => agent === whaleAgent).length, 1);
    const { count } = perAgent(result, units);
    for (const agent of ["agent-001", "agent-002", "agent-003"]) {
      assert.ok(Math.abs(count.get(agent)! - 50 / 3) <= 1, `${agent}: ${count.get(agent)}`);
    }
    const again = computeAssignment({ units, agents, previous: result.assignment });
    assert.deepEqual(again.moves, []);
  });

  test("more oversize units than agents still ends", () => {
    const units = makeUnits(6, (i) => 10 ** (6 - i));
    const result = computeAssignment({ units, agents: makeAgents(3) });
    assert.equal(result.assignment.size, 6);
    assert.equal(result.stats.oversizeUnits.length, 2);
  });

  test("a single agent takes everything", () => {
    const units = makeUnits(100, (i) => i);
    const result = computeAssignment({ units, agents: makeAgents(1) });
    assert.equal(new Set(result.assignment.values()).size, 1);
    assert.equal(result.stats.maxOverMean, 1);
  });
});

describe("computeAssignment: determinism", () => {
  test("same input, same output; input order does not matter", () => {
    const loads = skewedLoads(2000, 9);
    const units = makeUnits(2000, (i) => (i % 10 === 0 ? 0 : loads[i]!));
    const agents = makeAgents(17);
    const random = seeded(4);
    const previous = new Map(
      units
        .filter(() => random() < 0.7)
        .map((unit) => [unit.id, `agent-${String(Math.floor(random() * 20)).padStart(3, "0")}`]),
    );
    const first = computeAssignment({ units, agents, previous });
    const second = computeAssignment({ units, agents, previous });
    assert.deepEqual([...second.assignment], [...first.assignment]);
    assert.deepEqual(second.moves, first.moves);
    assert.deepEqual(second.stats, first.stats);

    const shuffle = <T>(items: readonly T[]) => {
      const copy = items.slice();
      for (let i = copy.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      return copy;
    };
    const shuffled = computeAssignment({
      units: shuffle(units),
      agents: shuffle(agents),
      previous,
    });
    assert.deepEqual(new Map(shuffled.assignment), first.assignment);
    const byUnit = (a: { unitId: string }, b: { unitId: string }) => (a.unitId < b.unitId ? -1 : 1);
    assert.deepEqual(shuffled.moves.slice().sort(byUnit), first.moves.slice().sort(byUnit));
  });
});

describe("computeAssignment: scale", () => {
  test("100,000 units over 500 agents, then one agent more", () => {
    const random = seeded(99);
    const units = makeUnits(100_000, () => 1000 + random() * 9000);
    const agents = makeAgents(500);
    let started = performance.now();
    const first = computeAssignment({ units, agents });
    const coldMs = performance.now() - started;
    assert.ok(coldMs < 5000, `${coldMs} ms`);
    assert.ok(first.stats.maxOverMean < 1.01);
    started = performance.now();
    const joined = computeAssignment({
      units,
      agents: makeAgents(501),
      previous: first.assignment,
    });
    assert.ok(performance.now() - started < 5000);
    assert.ok(joined.moves.length <= Math.ceil(100_000 / 501) + 2);
  });
});
