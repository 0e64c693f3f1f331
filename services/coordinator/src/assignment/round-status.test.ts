import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toEpoch } from "@geo/positions";
import type { Plan } from "./plan";
import type { ActiveUnit } from "./round-inputs";
import { leadingView, rememberDecisions } from "./round-status";
import { createTerm } from "./term";

const newTerm = () =>
  createTerm({ epoch: toEpoch(2), token: "x", fence: { key: "leader", token: "x" } }, 0);
const plan = (desired: [string, string][], unassigned: [string, string][] = []): Plan =>
  ({ desired: new Map(desired), unassigned: new Map(unassigned) }) as unknown as Plan;
const active = (id: string) => ({ id }) as unknown as ActiveUnit;

describe("rememberDecisions", () => {
  it("keeps the desired assignment, moves computeTime only when it changed, and notes why units wait", () => {
    const term = newTerm();
    const notes = new Map([["u1", "waiting"]]);
    rememberDecisions(term, plan([["u1", "a1"]], [["u2", "no agent in west"]]), notes);
    const first = term.computeTime;
    assert.ok(first !== undefined);
    assert.deepEqual([...term.lastDesired], [["u1", "a1"]]);
    assert.deepEqual(Object.fromEntries(term.notes), { u1: "waiting", u2: "no agent in west" });

    rememberDecisions(term, plan([["u1", "a1"]]), new Map());
    assert.equal(term.computeTime, first, "same assignment: same compute time");
    rememberDecisions(term, plan([["u1", "a2"]]), new Map());
    assert.notEqual(term.computeTime, first);
  });
});

describe("leadingView", () => {
  it("shows a unit's epoch once granted to its desired agent, else why it is not", () => {
    const term = newTerm();
    term.generation = 3n;
    term.confirmed.set("u1", { agentId: "a1", epoch: toEpoch(9) });
    term.confirmed.set("u2", { agentId: "a1", epoch: toEpoch(4) });
    const view = leadingView(
      term,
      [active("u1"), active("u2"), active("u3")],
      new Map([
        ["u1", "a1"],
        ["u2", "a2"],
      ]),
      new Map([
        ["u1", "stale note"],
        ["u2", "moving from a1 to a2"],
        ["u3", "no agent"],
      ]),
    );
    assert.equal(view.leading, true);
    assert.equal(view.generation, (2n << 32n) + 3n);
    assert.deepEqual(Object.fromEntries(view.units), {
      u1: { desiredAgentId: "a1", epoch: toEpoch(9) },
      u2: { desiredAgentId: "a2", note: "moving from a1 to a2" },
      u3: { note: "no agent" },
    });
    assert.deepEqual(Object.fromEntries(view.desiredCounts), { a1: 1, a2: 1 });
  });
});
