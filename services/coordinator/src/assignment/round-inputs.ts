// What is, at the start of a round: the units that should run (by target region), the agents
// (with a session, live in Redis, or held while they may come back) and the units' leases.
import type { FlowConfig, GeoConfig } from "@geo/config";
import type { LiveAgent } from "@geo/leases";
import { unitId as unitIdOf } from "@geo/progress";
import type { DesiredUnit } from "../discovery";
import type { AgentDirectory, AssignmentStore, ConnectedAgent } from "./assignment-types";
import type { PlanAgent, PlanLease } from "./plan";

export interface ActiveUnit {
  readonly unit: DesiredUnit;
  readonly id: string;
  readonly flow: FlowConfig;
  /** Region of the flow's target cluster: the unit runs on an agent there. */
  readonly region: string;
}

export interface WantedUnits {
  /** Units of running flows whose target cluster has a region. */
  readonly active: readonly ActiveUnit[];
  readonly activeIds: ReadonlySet<string>;
  /** Units of paused flows (their owners are told why they stop). */
  readonly pausedIds: ReadonlySet<string>;
  readonly unitById: ReadonlyMap<string, DesiredUnit>;
}

/** What should run, by target region. */
export function wantedUnits(
  units: readonly DesiredUnit[],
  flows: readonly FlowConfig[],
  clusters: GeoConfig["clusters"],
): WantedUnits {
  const flowsByName = new Map(flows.map((flow) => [flow.name, flow]));
  const active: ActiveUnit[] = [];
  const pausedIds = new Set<string>();
  for (const unit of units) {
    const flow = flowsByName.get(unit.flow);
    if (flow === undefined) continue;
    const id = unitIdOf(unit);
    if (flow.paused) {
      pausedIds.add(id);
      continue;
    }
    const region = clusters[flow.target]?.region;
    if (region === undefined) continue;
    active.push({ unit, id, flow, region });
  }
  return {
    active,
    activeIds: new Set(active.map((entry) => entry.id)),
    pausedIds,
    unitById: new Map(active.map((entry) => [entry.id, entry.unit])),
  };
}

/** The leases of these units as Redis holds them now. */
export async function readLeases(
  store: AssignmentStore,
  ids: readonly string[],
): Promise<Map<string, PlanLease>> {
  const states = ids.length === 0 ? [] : await store.getUnits(ids);
  const leases = new Map<string, PlanLease>();
  ids.forEach((id, i) => {
    const state = states[i];
    if (state === undefined) return;
    leases.set(id, {
      ...(state.owner === undefined ? {} : { owner: state.owner }),
      epoch: state.epoch,
      revoked: state.owner !== undefined && state.revokedAt !== undefined,
    });
  });
  return leases;
}

export interface AgentsInput {
  readonly sessions: readonly ConnectedAgent[];
  readonly live: readonly LiveAgent[];
  readonly directory: AgentDirectory;
  /** Monotonic ms the term started: a live agent is held at least holdMs from then. */
  readonly termStartedAt: number;
  readonly holdMs: number;
}

/**
 * The agents the plan chooses among: every agent with a session (live or not), then every live
 * agent without one, held until holdMs after its session broke (or the term started).
 */
export function planAgents(input: AgentsInput): PlanAgent[] {
  const { sessions, live, directory } = input;
  const sessionOf = new Set(sessions.map((session) => session.agentId));
  const liveIds = new Set(live.map((agent) => agent.agentId));
  const agents: PlanAgent[] = sessions.map((session) => ({
    id: session.agentId,
    region: session.region,
    connected: true,
    live: liveIds.has(session.agentId),
    capacity: session.capacity,
  }));
  for (const agent of live) {
    if (sessionOf.has(agent.agentId)) continue;
    const since = Math.max(input.termStartedAt, directory.disconnectedAt(agent.agentId) ?? 0);
    agents.push({
      id: agent.agentId,
      region: agent.region,
      connected: false,
      live: true,
      holdUntil: since + input.holdMs,
    });
  }
  return agents;
}
