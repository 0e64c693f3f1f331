// The assignment loop's decisions, as a pure function of what one round observed: which agents
// may run units, where every unit should run (sticky and balanced, by @geo/assignment), and which
// lease operations move the units there. The loop executes the plan against Redis; the lease
// scripts have the last word (a grant the plan asks for may still be refused, e.g. in grace).
import { computeAssignment } from "@geo/assignment";
import type { Epoch } from "@geo/positions";

export interface PlanUnit {
  readonly id: string;
  /** Region of the flow's target cluster: only agents of this region may run the unit. */
  readonly region: string;
  /** Measured bytes/s (the running agent's last report); 0 when unknown. */
  readonly load: number;
}

export interface PlanAgent {
  readonly id: string;
  readonly region: string;
  /** Has a session with this coordinator (so it can be told its assignment). */
  readonly connected: boolean;
  /** Its liveness key exists in Redis. */
  readonly live: boolean;
  /**
   * For a live agent without a session: until when (monotonic ms) it keeps the units it holds
   * while it reconnects (after a session broke, or after this coordinator became leader).
   */
  readonly holdUntil?: number;
  /** Relative weight for balancing; default 1. */
  readonly capacity?: number;
}

export interface PlanLease {
  /** Absent when the unit has no owner (never granted, released). */
  readonly owner?: string;
  /** Last granted epoch; NO_EPOCH when never granted in this Redis's memory. */
  readonly epoch: Epoch;
  /** A revoke is pending: the owner was told to stop and release. */
  readonly revoked: boolean;
}

export interface PlanInput {
  /** Monotonic ms. */
  readonly now: number;
  readonly units: readonly PlanUnit[];
  readonly agents: readonly PlanAgent[];
  /** Redis's view of each unit; a unit without entry has never been granted. */
  readonly leases: ReadonlyMap<string, PlanLease>;
  /** Where the previous round wanted each unit: the sticky choice while a move is under way. */
  readonly lastDesired: ReadonlyMap<string, string>;
  /** Ownerships this leader already confirmed with grantUnit in its term (unit → agent/epoch). */
  readonly confirmed: ReadonlyMap<string, Holding>;
  readonly maxLoadRatio?: number;
  /**
   * Keep every unit on its live, connected owner (no balancing moves); only units without one
   * are placed. A new leader does this until it knows the units' loads.
   */
  readonly keepOwners?: boolean;
}

export interface Holding {
  readonly agentId: string;
  readonly epoch: Epoch;
}

/**
 * active: connected and live, may be given units. held: live, no session, within its hold:
 * keeps what it holds and gets nothing new. gone: neither; its units move (the lease store
 * makes the new grants wait for its lease to end plus grace).
 */
export type AgentRole = "active" | "held" | "gone";

export interface Revocation {
  readonly unitId: string;
  readonly from: string;
  readonly epoch: Epoch;
}

export interface Plan {
  readonly roles: ReadonlyMap<string, AgentRole>;
  /** Unit → the agent that should run it. Units absent are in `unassigned`. */
  readonly desired: ReadonlyMap<string, string>;
  /** Units with no agent to run them, and why. */
  readonly unassigned: ReadonlyMap<string, string>;
  /** Ownerships confirmed earlier and unchanged in Redis: nothing to do. */
  readonly kept: ReadonlyMap<string, Holding>;
  /** Live owners to revoke (planned moves): the grant follows their Released or lease end. */
  readonly revokes: readonly Revocation[];
  /** Units to grant to their desired agent now (the lease store may still refuse). */
  readonly grants: ReadonlyMap<string, string>;
  /** Units computeAssignment moved away from an agent that could keep running them. */
  readonly moved: number;
}

export function classifyAgent(agent: PlanAgent, now: number): AgentRole {
  if (!agent.live) return "gone";
  if (agent.connected) return "active";
  return agent.holdUntil !== undefined && now < agent.holdUntil ? "held" : "gone";
}

export function planRound(input: PlanInput): Plan {
  const roles = new Map<string, AgentRole>();
  const agentsByRegion = new Map<string, PlanAgent[]>();
  for (const agent of input.agents) {
    const role = classifyAgent(agent, input.now);
    roles.set(agent.id, role);
    if (role !== "active") continue;
    const list = agentsByRegion.get(agent.region) ?? [];
    list.push(agent);
    agentsByRegion.set(agent.region, list);
  }
  const regionOf = new Map(input.agents.map((agent) => [agent.id, agent.region]));
  const live = new Set(input.agents.filter((agent) => agent.live).map((agent) => agent.id));

  const desired = new Map<string, string>();
  const unassigned = new Map<string, string>();
  const unitsByRegion = new Map<string, PlanUnit[]>();
  for (const unit of input.units) {
    const lease = input.leases.get(unit.id);
    // A held agent keeps its units untouched (not rebalanced) until it is back or gone; with
    // keepOwners, an active one too.
    const ownerRole = lease?.owner === undefined ? undefined : roles.get(lease.owner);
    if (
      lease?.owner !== undefined &&
      !lease.revoked &&
      (ownerRole === "held" || (input.keepOwners === true && ownerRole === "active")) &&
      regionOf.get(lease.owner) === unit.region
    ) {
      desired.set(unit.id, lease.owner);
      continue;
    }
    const list = unitsByRegion.get(unit.region) ?? [];
    list.push(unit);
    unitsByRegion.set(unit.region, list);
  }

  let moved = 0;
  for (const [region, units] of unitsByRegion) {
    const agents = agentsByRegion.get(region) ?? [];
    if (agents.length === 0) {
      const why = `no live agent connected in region ${region}`;
      for (const unit of units) unassigned.set(unit.id, why);
      continue;
    }
    const eligible = new Set(agents.map((agent) => agent.id));
    const previous = new Map<string, string>();
    for (const unit of units) {
      const last = input.lastDesired.get(unit.id);
      const owner = input.leases.get(unit.id)?.owner;
      if (last !== undefined && eligible.has(last)) previous.set(unit.id, last);
      else if (owner !== undefined && eligible.has(owner)) previous.set(unit.id, owner);
    }
    const result = computeAssignment(
      {
        units: units.map((unit) => ({ id: unit.id, load: unit.load })),
        agents: agents.map((agent) => ({ id: agent.id, capacity: agent.capacity ?? 1 })),
        previous,
      },
      input.maxLoadRatio === undefined ? {} : { maxLoadRatio: input.maxLoadRatio },
    );
    for (const [unitId, agentId] of result.assignment) desired.set(unitId, agentId);
    for (const move of result.moves) if (move.from !== undefined) moved++;
  }

  const kept = new Map<string, Holding>();
  const revokes: Revocation[] = [];
  const grants = new Map<string, string>();
  for (const [unitId, to] of desired) {
    const lease = input.leases.get(unitId);
    const owner = lease?.owner;
    if (lease === undefined || owner === undefined) {
      grants.set(unitId, to);
    } else if (owner === to && !lease.revoked) {
      const confirmed = input.confirmed.get(unitId);
      if (confirmed?.agentId === to && confirmed.epoch === lease.epoch) {
        kept.set(unitId, confirmed);
      } else {
        // Confirms the ownership (same epoch), or renumbers it when the target cluster saw a
        // higher epoch than Redis remembers.
        grants.set(unitId, to);
      }
    } else if (owner !== to && !lease.revoked && live.has(owner)) {
      // A live owner must stop first (with or without a session: its renewals answer "revoked"):
      // revoke, and grant once it released, or once it can no longer trust its lease.
      revokes.push({ unitId, from: owner, epoch: lease.epoch });
    } else {
      // The owner's liveness ended, or it was already revoked: the lease store grants once that
      // is safe (released, or lease end + grace) and answers when to retry otherwise.
      grants.set(unitId, to);
    }
  }
  return { roles, desired, unassigned, kept, revokes, grants, moved };
}
