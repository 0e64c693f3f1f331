// One assignment round, in order: read what is (./round-inputs), plan where units should run
// (./plan), revoke from live owners (./revoke-step), grant (./grant-step), remember the decisions
// and send the agents their snapshots (./snapshots), then hand over the status view
// (./round-status) with when the next round should run.
import type { FlowConfig, GeoConfig } from "@geo/config";
import type { LiveAgent } from "@geo/leases";
import type { Logger } from "@geo/logging";
import type { DesiredUnit } from "../discovery";
import type {
  AgentDirectory,
  AssignmentStore,
  AssignmentView,
  MinEpochOf,
} from "./assignment-types";
import { grantPlanned } from "./grant-step";
import { type Plan, type PlanAgent, type PlanLease, planRound } from "./plan";
import type { RequestTraces } from "./request-traces";
import { resendPendingRevokes, revokeOrphans, revokePlannedMoves } from "./revoke-step";
import { createWake, RETRY_SLACK_MS, type RoundContext, type RoundSettings } from "./round-context";
import { planAgents, readLeases, type WantedUnits, wantedUnits } from "./round-inputs";
import { leadingView, logRound, rememberDecisions } from "./round-status";
import { buildAgentSets, changedSnapshots, forgetClosedSessions, sendSnapshots } from "./snapshots";
import type { Term } from "./term";
import type { UnitLoads } from "./unit-loads";

export interface RoundDeps {
  readonly config: GeoConfig;
  readonly store: AssignmentStore;
  readonly directory: AgentDirectory;
  readonly logger: Logger;
  readonly settings: RoundSettings & {
    /** How long a live agent without session keeps its units. */
    readonly holdMs: number;
    /** How long a new term keeps units on their live owners while it waits for their loads. */
    readonly loadWarmupMs: number;
    /** How long a new term's balancing move must stay wanted before it is made. */
    readonly loadSettleMs: number;
    readonly maxLoadRatio: number | undefined;
  };
  /** Units discovery wants run. */
  readonly units: () => readonly DesiredUnit[];
  readonly flows: () => readonly FlowConfig[];
  readonly flowVersion: (flow: string) => bigint;
  readonly minEpochOf: MinEpochOf;
  readonly loads: UnitLoads;
  readonly requestTraces: RequestTraces;
  /** Monotonic ms. */
  readonly now: () => number;
  /** False once this term ended (or another began). */
  isCurrent(term: Term): boolean;
  /** Redis refused this term's fence. */
  lostTerm(term: Term): void;
  /** The round under a current term ended: publish its view, schedule the next round. */
  finished(outcome: RoundOutcome): void;
}

export interface RoundOutcome {
  readonly view: AssignmentView;
  /** When the next round should run, in ms. */
  readonly wakeIn: number;
}

/**
 * Runs one round under the term and hands its outcome to deps.finished, in the same tick as the
 * last check that the term is current (nothing when the term ended meanwhile).
 */
export async function runRound(deps: RoundDeps, term: Term): Promise<void> {
  const startedAt = deps.now();
  const flows = deps.flows();
  const wanted = wantedUnits(deps.units(), flows, deps.config.clusters);
  // Units this term granted that are no longer wanted (paused, topic deleted, flow removed).
  const orphans = [...term.confirmed.keys()].filter((id) => !wanted.activeIds.has(id));
  const live = await deps.store.listLiveAgents();
  const leases = await readLeases(deps.store, [...wanted.activeIds, ...orphans]);
  if (!deps.isCurrent(term)) return;
  const sessions = deps.directory.connected();
  const agents = planAgents({
    sessions,
    live,
    directory: deps.directory,
    termStartedAt: term.startedAt,
    holdMs: deps.settings.holdMs,
  });
  const { plan, warmingUp } = planFor(deps, term, wanted, agents, leases);
  const wakes = createWake(deps.settings.intervalMs);
  wakeForExpiries(deps, wakes.wake, { warmingUp, live, agents });
  const ctx: RoundContext = {
    term,
    store: deps.store,
    directory: deps.directory,
    logger: deps.logger,
    settings: deps.settings,
    sessionOf: new Map(sessions.map((session) => [session.agentId, session])),
    unitById: wanted.unitById,
    leases,
    notes: new Map(),
    isCurrent: () => deps.isCurrent(term),
    lostTerm: () => deps.lostTerm(term),
    wake: wakes.wake,
  };
  await revokePlannedMoves(ctx, plan.revokes, plan.desired);
  resendPendingRevokes(ctx, wanted.activeIds);
  await revokeOrphans(ctx, orphans, wanted.pausedIds);
  if (!ctx.isCurrent()) return;
  await grantPlanned(ctx, plan.grants, deps.minEpochOf);
  if (!ctx.isCurrent()) return;

  rememberDecisions(term, plan, ctx.notes);
  const sets = buildAgentSets(wanted.active, plan.desired, term, leases, deps.flowVersion);
  const outgoing = changedSnapshots(sessions, sets, term, plan.roles);
  sendSnapshots(deps, term, outgoing);
  forgetClosedSessions(term, sessions);
  const view = leadingView(term, wanted.active, plan.desired, ctx.notes);
  logRound(deps.logger, plan, {
    units: wanted.active.length,
    snapshots: outgoing.length,
    tookMs: deps.now() - startedAt,
  });
  deps.finished({ view, wakeIn: wakes.wakeIn() });
}

/** Plans the round on the units' current loads. */
function planFor(
  deps: RoundDeps,
  term: Term,
  wanted: WantedUnits,
  agents: PlanAgent[],
  leases: ReadonlyMap<string, PlanLease>,
): { plan: Plan; warmingUp: boolean } {
  const { active, activeIds } = wanted;
  deps.loads.refresh(active, activeIds);
  // A new leader knows no loads until the agents report them: balancing on guesses would move
  // units the previous leader had balanced by load, then move them back. Until every unit's
  // load is known (or loadWarmupMs passed) units stay where they run; only units without an
  // eligible owner are placed.
  const warmingUp =
    deps.now() - term.startedAt < deps.settings.loadWarmupMs && deps.loads.someUnknown(active);
  const { maxLoadRatio } = deps.settings;
  const planWith = (keepOwners: boolean) =>
    planRound({
      now: deps.now(),
      units: deps.loads.planUnits(active),
      agents,
      leases,
      lastDesired: term.lastDesired,
      confirmed: term.confirmed,
      keepOwners,
      ...(maxLoadRatio === undefined ? {} : { maxLoadRatio }),
    });
  const plan = planWith(warmingUp);
  if (warmingUp || settledFor(deps, term, plan)) return { plan, warmingUp };
  // Held back: looked at again as soon as during the warm-up.
  return { plan: planWith(true), warmingUp: true };
}

/**
 * Whether an unsettled term may make the plan's balancing moves. Its first complete load view
 * is one reading of each unit's 10 s growth window: a burst there, or a guessed load past
 * loadWarmupMs, would undo the previous leader's balance (the churn test once saw a restarted
 * leader move a unit so). The inherited placement stands until a move has been wanted in every
 * round for loadSettleMs; a round wanting none settles the term, which then balances freely.
 */
function settledFor(deps: RoundDeps, term: Term, plan: Plan): boolean {
  if (term.loadsSettled) return true;
  if (plan.moved === 0) {
    term.loadsSettled = true;
    return true;
  }
  term.balanceWantedSince ??= deps.now();
  term.loadsSettled = deps.now() - term.balanceWantedSince >= deps.settings.loadSettleMs;
  return term.loadsSettled;
}

/** Wakes the next round when a live agent's lease or hold may end, or its loads may be in. */
function wakeForExpiries(
  deps: RoundDeps,
  wake: (ms: number) => void,
  round: { warmingUp: boolean; live: readonly LiveAgent[]; agents: readonly PlanAgent[] },
): void {
  const { intervalMs } = deps.settings;
  // Balance as soon as the loads are in.
  if (round.warmingUp) wake(Math.min(intervalMs, 500));
  // Wake when a live agent's lease may end, so its units move without waiting an interval.
  for (const agent of round.live) wake(agent.expiresInMs + RETRY_SLACK_MS);
  for (const agent of round.agents) {
    if (agent.holdUntil !== undefined) wake(agent.holdUntil - deps.now() + RETRY_SLACK_MS);
  }
}
