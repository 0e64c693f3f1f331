// The units' loads the plan balances on: the steady bytes/s each unit's running agent measured,
// remembered across rounds (a unit keeps its last measured load while it has no runner: moving,
// owner restarting; dropping to 0 mid-move would make the balance shift and move other units).
import type { AgentDirectory } from "./assignment-types";
import type { PlanUnit } from "./plan";
import type { ActiveUnit } from "./round-inputs";

export interface UnitLoads {
  /** Takes the agents' newest reports and forgets units no longer active. */
  refresh(active: readonly ActiveUnit[], activeIds: ReadonlySet<string>): void;
  /** True while some active unit was never measured. */
  someUnknown(active: readonly ActiveUnit[]): boolean;
  /** The plan's units with their loads (a unit never measured counts as its region's mean). */
  planUnits(active: readonly ActiveUnit[]): PlanUnit[];
}

export function createUnitLoads(directory: AgentDirectory): UnitLoads {
  /** Last measured bytes/s per unit. */
  const loads = new Map<string, number>();
  return {
    refresh(active, activeIds) {
      for (const { id } of active) {
        const reported = directory.unitLoad(id);
        if (reported !== undefined) loads.set(id, reported);
      }
      for (const id of loads.keys()) if (!activeIds.has(id)) loads.delete(id);
    },
    someUnknown: (active) => active.some(({ id }) => !loads.has(id)),
    planUnits(active) {
      // A unit never measured (a new leader before every runner reported, a new partition)
      // counts as its region's mean measured load: counted as 0, the agents that reported first
      // would look overloaded and shed units that had no reason to move.
      const meanLoad = meanLoadByRegion(active, loads);
      return active.map(({ id, region }) => ({
        id,
        region,
        load: loads.get(id) ?? meanLoad.get(region) ?? 0,
      }));
    },
  };
}

function meanLoadByRegion(
  units: readonly { id: string; region: string }[],
  loads: ReadonlyMap<string, number>,
): Map<string, number> {
  const sums = new Map<string, { total: number; count: number }>();
  for (const { id, region } of units) {
    const load = loads.get(id);
    if (load === undefined) continue;
    const sum = sums.get(region) ?? { total: 0, count: 0 };
    sum.total += load;
    sum.count += 1;
    sums.set(region, sum);
  }
  return new Map([...sums].map(([region, { total, count }]) => [region, total / count]));
}
