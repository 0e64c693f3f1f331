// What a round leaves behind: its decisions for the next round (stickiness), the status view the
// admin API shows, and one log line when it changed anything.
import type { Logger } from "@geo/logging";
import type { AssignmentView } from "./assignment-types";
import type { Plan } from "./plan";
import type { ActiveUnit } from "./round-inputs";
import type { Term } from "./term";
import type { UnitAssignment } from "./unit-status";

/** Remembers the desired assignment (and when it last changed) and the round's notes. */
export function rememberDecisions(term: Term, plan: Plan, notes: Map<string, string>): void {
  let changed = plan.desired.size !== term.lastDesired.size;
  for (const [unitId, agentId] of plan.desired) {
    if (term.lastDesired.get(unitId) !== agentId) changed = true;
  }
  term.lastDesired = new Map(plan.desired);
  if (changed || term.computeTime === undefined) term.computeTime = new Date();
  for (const [unitId, why] of plan.unassigned) notes.set(unitId, why);
  term.notes = notes;
}

/** The leader's view: per active unit its desired agent, its epoch once granted, else why not. */
export function leadingView(
  term: Term,
  active: readonly ActiveUnit[],
  desired: ReadonlyMap<string, string>,
  notes: ReadonlyMap<string, string>,
): AssignmentView {
  const units = new Map<string, UnitAssignment>();
  const desiredCounts = new Map<string, number>();
  for (const { id } of active) {
    const agentId = desired.get(id);
    const held = term.confirmed.get(id);
    const granted = agentId !== undefined && held?.agentId === agentId;
    const note = notes.get(id);
    units.set(id, {
      ...(agentId === undefined ? {} : { desiredAgentId: agentId }),
      ...(granted ? { epoch: held.epoch } : {}),
      ...(note === undefined || granted ? {} : { note }),
    });
    if (agentId !== undefined) desiredCounts.set(agentId, (desiredCounts.get(agentId) ?? 0) + 1);
  }
  return {
    leading: true,
    generation: term.generationBase + term.generation,
    computeTime: term.computeTime,
    units,
    desiredCounts,
  };
}

export function standbyView(generation: bigint): AssignmentView {
  return {
    leading: false,
    generation,
    computeTime: undefined,
    units: new Map(),
    desiredCounts: new Map(),
  };
}

/** Logs the round's counts when it revoked, granted or sent anything. */
export function logRound(
  logger: Logger,
  plan: Plan,
  counts: { units: number; snapshots: number; tookMs: number },
): void {
  if (plan.revokes.length === 0 && plan.grants.size === 0 && counts.snapshots === 0) return;
  logger.info(
    {
      units: counts.units,
      agents: plan.roles.size,
      moved: plan.moved,
      revokes: plan.revokes.length,
      grants: plan.grants.size,
      unassigned: plan.unassigned.size,
      snapshots: counts.snapshots,
      tookMs: Math.round(counts.tookMs),
    },
    "assignment round",
  );
}
