import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AgentDirectory } from "./assignment-types";
import type { ActiveUnit } from "./round-inputs";
import { createUnitLoads } from "./unit-loads";

const active = (id: string, region: string): ActiveUnit =>
  ({ id, region }) as unknown as ActiveUnit;

describe("unit loads", () => {
  it("keeps a unit's last measured load while nobody reports it, forgets inactive units", () => {
    const reported = new Map<string, number>([
      ["a", 100],
      ["b", 300],
    ]);
    const loads = createUnitLoads({
      unitLoad: (id: string) => reported.get(id),
    } as unknown as AgentDirectory);
    const units = [active("a", "w"), active("b", "w")];
    loads.refresh(units, new Set(["a", "b"]));
    reported.delete("a"); // moving: no runner reports it
    loads.refresh(units, new Set(["a", "b"]));
    assert.deepEqual(loads.planUnits(units), [
      { id: "a", region: "w", load: 100 },
      { id: "b", region: "w", load: 300 },
    ]);
    // b leaves, comes back unmeasured: its old load is gone.
    reported.delete("b");
    loads.refresh([active("a", "w")], new Set(["a"]));
    assert.equal(loads.someUnknown(units), true);
    assert.equal(loads.someUnknown([active("a", "w")]), false);
  });

  it("counts a unit never measured as its region's mean measured load, 0 without any", () => {
    const reported = new Map<string, number>([
      ["a", 100],
      ["b", 300],
      ["c", 50],
    ]);
    const loads = createUnitLoads({
      unitLoad: (id: string) => reported.get(id),
    } as unknown as AgentDirectory);
    const units = [
      active("a", "w"),
      active("b", "w"),
      active("new", "w"),
      active("c", "e"),
      active("lone", "n"),
    ];
    loads.refresh(units, new Set(units.map(({ id }) => id)));
    assert.deepEqual(
      loads.planUnits(units).map(({ id, load }) => [id, load]),
      [
        ["a", 100],
        ["b", 300],
        ["new", 200],
        ["c", 50],
        ["lone", 0],
      ],
    );
  });
});
