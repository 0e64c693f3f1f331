// The leader's assignment loop. Each round reads what is (discovered units, agents with a session,
// agents live in Redis, the units' leases), plans where units should run (./plan), and moves them
// there through the lease store: revoke a live owner, grant the new one once the owner released
// or its lease can no longer be trusted (the grant script decides), then tell every agent its full
// desired set in an AssignmentSnapshot. Rounds run on discovery changes, session events, at the
// moment a refused grant may succeed, when a live agent's lease may expire, and every interval.
// Only a leader runs rounds; every grant and revoke carries its term's fence, so a deposed leader
// is refused by Redis itself.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { FlowConfig, GeoConfig } from "@geo/config";
import type { GrantResult, LeaderTerm, LeaseStore } from "@geo/leases";
import type { Logger } from "@geo/logging";
import { type Epoch, epochToProto, NO_EPOCH } from "@geo/positions";
import { unitId as unitIdOf } from "@geo/progress";
import type { agentV1 } from "@geo/proto";
import { fileFlowView } from "../cluster-and-flow-views";
import type { DesiredUnit } from "../discovery";
import { type Holding, type PlanAgent, type PlanLease, type PlanUnit, planRound } from "./plan";
import { createRequestTraces } from "./request-traces";
import type { UnitAssignment } from "./unit-status";

type CoordinatorMessage = MessageInitShape<typeof agentV1.CoordinatorMessageSchema>;
type AssignedUnitInit = MessageInitShape<typeof agentV1.AssignedUnitSchema>;
type FlowSpecInit = MessageInitShape<typeof agentV1.FlowSpecSchema>;

/**
 * The highest epoch each unit's progress records in the target cluster carry (NO_EPOCH or absent
 * when none). Grants start above it, so an empty Redis never hands out an epoch already used.
 */
export type MinEpochOf = (units: readonly DesiredUnit[]) => Promise<ReadonlyMap<string, Epoch>>;

/** No unit has recorded progress: epochs rest on Redis alone (tests of the loop use it). */
export const noRecordedEpochs: MinEpochOf = async () => new Map();

/** The lease store operations the loop uses. */
export type AssignmentStore = Pick<
  LeaseStore,
  "listLiveAgents" | "getUnits" | "grantUnit" | "revokeUnit"
>;

export interface ConnectedAgent {
  readonly agentId: string;
  readonly region: string;
  readonly sessionId: string;
  /** Relative balancing weight (Hello.capacity.weight, 1 when unset). */
  readonly capacity: number;
}

/** What the loop needs from the agents' sessions. */
export interface AgentDirectory {
  /** Agents with an open session now. */
  connected(): readonly ConnectedAgent[];
  /** Monotonic ms when the agent's last session ended; undefined when it has one open or never had. */
  disconnectedAt(agentId: string): number | undefined;
  /** Queues a message on that session; false when the session is gone. */
  send(agentId: string, sessionId: string, message: CoordinatorMessage): boolean;
  /** Steady bytes/s of the unit as its running agent last measured it; undefined when no agent reports it running or it is not measured yet. */
  unitLoad(unitId: string): number | undefined;
}

export interface AssignmentLoopOptions {
  readonly config: GeoConfig;
  readonly logger: Logger;
  readonly store: AssignmentStore;
  readonly directory: AgentDirectory;
  /** Units discovery wants run. */
  readonly units: () => readonly DesiredUnit[];
  /** Current flow definitions (paused flows' units are not assigned). Default: the file's. */
  readonly flows?: () => readonly FlowConfig[];
  /** A flow's version, which agents receive with its spec. Default: 1 (file flows). */
  readonly flowVersion?: (flow: string) => bigint;
  /** Default noRecordedEpochs. */
  readonly minEpochOf?: MinEpochOf;
  /** Longest time between rounds. Default 2000 ms. */
  readonly intervalMs?: number;
  /**
   * How long a live agent without session keeps its units (after its session broke, or after
   * this coordinator became leader) before they move. Default the lease TTL, and at least
   * MIN_HOLD_MS: a live agent runs its units, and moving them only costs a re-copied window.
   */
  readonly holdMs?: number;
  /** Passed to computeAssignment. */
  readonly maxLoadRatio?: number;
  /**
   * How long a new term may keep units on their live owners while it waits for their loads
   * (balancing on guessed loads moves units for nothing). Default 10 s; 0 balances at once.
   */
  readonly loadWarmupMs?: number;
  /** Parallel grant/revoke scripts in flight. Default 64. */
  readonly concurrency?: number;
  /** Monotonic ms; default performance.now. */
  readonly now?: () => number;
}

export interface AssignmentView {
  readonly leading: boolean;
  /** Generation of the last snapshots sent. */
  readonly generation: bigint;
  /** When the desired assignment last changed. */
  readonly computeTime: Date | undefined;
  /** Per unit id, for units of running flows. */
  readonly units: ReadonlyMap<string, UnitAssignment>;
  /** Units desired on each agent. */
  readonly desiredCounts: ReadonlyMap<string, number>;
}

export interface AssignmentLoop {
  /** This coordinator became leader: start rounds under this term. */
  startTerm(term: LeaderTerm): void;
  /** The term ended: no more grants or revokes. */
  endTerm(): void;
  /** Runs a round soon (coalesced). */
  kick(why: string): void;
  /** What the last round decided, for status. */
  view(): AssignmentView;
  /** Runs a round now and resolves when it (or the one running) is done. For tests. */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

interface Term {
  readonly lease: LeaderTerm;
  readonly startedAt: number;
  /** Generations of this term start above every earlier term's: leader epoch in the high bits. */
  readonly generationBase: bigint;
  generation: bigint;
  lastDesired: Map<string, string>;
  confirmed: Map<string, Holding>;
  /** Unit → `${sessionId}/${epoch}` a Revoke was sent for. */
  revokeSent: Map<string, string>;
  /** Session → signature of the last snapshot sent on it. */
  snapshots: Map<string, string>;
  notes: Map<string, string>;
  computeTime: Date | undefined;
}

const KICK_DELAY_MS = 20;
/**
 * After a coordinator restart the agents reconnect with jittered backoff (up to a few seconds
 * after it listens again); a hold as short as a lease TTL made the late ones look gone, their
 * units moved to the first agent back and then moved back when they reconnected.
 */
export const MIN_HOLD_MS = 15_000;
/** Longest a new leader waits for the agents' load reports before it balances by load. */
const LOAD_WARMUP_MS = 10_000;
const RETRY_SLACK_MS = 5;

export function createAssignmentLoop(options: AssignmentLoopOptions): AssignmentLoop {
  const { config, store, directory } = options;
  const logger = options.logger.child({ component: "assignment" });
  const { ttlMs, graceMs } = config.leases;
  const intervalMs = options.intervalMs ?? 2000;
  const holdMs = options.holdMs ?? Math.max(ttlMs, MIN_HOLD_MS);
  const concurrency = options.concurrency ?? 64;
  const loadWarmupMs = options.loadWarmupMs ?? LOAD_WARMUP_MS;
  const minEpochOf = options.minEpochOf ?? noRecordedEpochs;
  const flows = options.flows ?? (() => config.flows);
  const flowVersion = options.flowVersion ?? (() => 1n);
  const now = options.now ?? (() => performance.now());
  // An admin request's trace continues in the round that sends the snapshots it caused.
  const requestTraces = createRequestTraces();

  let term: Term | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  let running: Promise<void> | undefined;
  let again = false;
  let view: AssignmentView = standbyView(0n);
  /** Last measured bytes/s per unit. */
  const loads = new Map<string, number>();

  const schedule = (delayMs: number) => {
    if (stopped || term === undefined) return;
    const at = now() + Math.max(0, delayMs);
    if (timer !== undefined && at >= timerAt) return;
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(
      () => {
        timer = undefined;
        timerAt = Number.POSITIVE_INFINITY;
        void trigger();
      },
      Math.max(0, delayMs),
    );
  };

  const trigger = (): Promise<void> => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    const current = term;
    if (current === undefined || stopped) return Promise.resolve();
    running = round(current)
      .catch((error: unknown) => {
        logger.warn({ err: errorText(error) }, "assignment round failed; retrying");
        if (term === current) schedule(Math.min(intervalMs, 500));
      })
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          schedule(0);
        }
      });
    return running;
  };

  async function round(current: Term): Promise<void> {
    const fence = current.lease.fence;
    const startedAt = now();
    const flowsByName = new Map(flows().map((flow) => [flow.name, flow]));

    // What should run, by target region.
    const active: { unit: DesiredUnit; id: string; flow: FlowConfig; region: string }[] = [];
    const pausedIds = new Set<string>();
    for (const unit of options.units()) {
      const flow = flowsByName.get(unit.flow);
      if (flow === undefined) continue;
      const id = unitIdOf(unit);
      if (flow.paused) {
        pausedIds.add(id);
        continue;
      }
      const region = config.clusters[flow.target]?.region;
      if (region === undefined) continue;
      active.push({ unit, id, flow, region });
    }
    const activeIds = new Set(active.map((entry) => entry.id));
    const unitById = new Map(active.map((entry) => [entry.id, entry.unit]));
    // Units this term granted that are no longer wanted (paused, topic deleted, flow removed).
    const orphans = [...current.confirmed.keys()].filter((id) => !activeIds.has(id));

    // What is: agents live in Redis, agents with a session, the units' leases.
    const live = await store.listLiveAgents();
    const ids = [...activeIds, ...orphans];
    const states = ids.length === 0 ? [] : await store.getUnits(ids);
    if (term !== current) return;
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
    const sessions = directory.connected();
    const sessionOf = new Map(sessions.map((session) => [session.agentId, session]));
    const liveById = new Map(live.map((agent) => [agent.agentId, agent]));
    const agents: PlanAgent[] = [];
    for (const session of sessions) {
      agents.push({
        id: session.agentId,
        region: session.region,
        connected: true,
        live: liveById.has(session.agentId),
        capacity: session.capacity,
      });
    }
    for (const agent of live) {
      if (sessionOf.has(agent.agentId)) continue;
      const since = Math.max(current.startedAt, directory.disconnectedAt(agent.agentId) ?? 0);
      agents.push({
        id: agent.agentId,
        region: agent.region,
        connected: false,
        live: true,
        holdUntil: since + holdMs,
      });
    }

    // A unit keeps its last measured load while it has no runner (moving, owner restarting):
    // dropping to 0 mid-move would make the balance shift and move other units.
    for (const { id } of active) {
      const reported = directory.unitLoad(id);
      if (reported !== undefined) loads.set(id, reported);
    }
    for (const id of loads.keys()) if (!activeIds.has(id)) loads.delete(id);
    // A unit never measured (a new leader before every runner reported, a new partition) counts
    // as its region's mean measured load: counted as 0, the agents that reported first would look
    // overloaded and shed units that had no reason to move.
    const meanLoad = meanLoadByRegion(active, loads);
    const planUnits: PlanUnit[] = active.map(({ id, region }) => ({
      id,
      region,
      load: loads.get(id) ?? meanLoad.get(region) ?? 0,
    }));
    // A new leader knows no loads until the agents report them: balancing on guesses would move
    // units the previous leader had balanced by load, then move them back. Until every unit's
    // load is known (or loadWarmupMs passed) units stay where they run; only units without an
    // eligible owner are placed.
    const warmingUp =
      now() - current.startedAt < loadWarmupMs && active.some(({ id }) => !loads.has(id));
    const plan = planRound({
      now: now(),
      units: planUnits,
      agents,
      leases,
      lastDesired: current.lastDesired,
      confirmed: current.confirmed,
      keepOwners: warmingUp,
      ...(options.maxLoadRatio === undefined ? {} : { maxLoadRatio: options.maxLoadRatio }),
    });

    let wakeIn = intervalMs;
    const wake = (ms: number) => {
      wakeIn = Math.min(wakeIn, Math.max(0, ms));
    };
    // Balance as soon as the loads are in.
    if (warmingUp) wake(Math.min(intervalMs, 500));
    // Wake when a live agent's lease may end, so its units move without waiting an interval.
    for (const agent of live) wake(agent.expiresInMs + RETRY_SLACK_MS);
    for (const agent of agents) {
      if (agent.holdUntil !== undefined) wake(agent.holdUntil - now() + RETRY_SLACK_MS);
    }

    const notes = new Map<string, string>();
    const lostTerm = () => {
      if (term === current) {
        logger.warn("Redis refused this coordinator's fence: no longer the leader");
        endTerm();
      }
    };
    const sendRevoke = (unitId: string, owner: string, epoch: Epoch, reason: string) => {
      const session = sessionOf.get(owner);
      if (session === undefined) return;
      const key = `${session.sessionId}/${epoch}`;
      if (current.revokeSent.get(unitId) === key) return;
      const ref = unitById.get(unitId) ?? parseUnitId(unitId);
      if (ref === undefined) return;
      directory.send(owner, session.sessionId, {
        message: {
          case: "revoke",
          value: {
            unit: { flow: ref.flow, sourceTopic: ref.sourceTopic, partition: ref.partition },
            epoch: epochToProto(epoch),
            reason,
          },
        },
      });
      current.revokeSent.set(unitId, key);
    };

    // Planned moves: revoke the live owner first.
    await forEachLimit(plan.revokes, concurrency, async ({ unitId, from, epoch }) => {
      if (term !== current) return;
      const to = plan.desired.get(unitId);
      try {
        const result = await store.revokeUnit(unitId, { owner: from, epoch, fence });
        if (result.reason === "not-leader") return lostTerm();
        if (result.revoked || result.reason === "already-revoked") {
          leases.set(unitId, { owner: from, epoch, revoked: true });
          sendRevoke(unitId, from, epoch, `rebalance: moving to ${to}`);
          notes.set(
            unitId,
            `moving from ${from} to ${to}: revoked, waiting for ${from} to release`,
          );
          // If the owner never answers, the grant may go ahead ttl + grace after the revoke.
          wake(ttlMs + graceMs + RETRY_SLACK_MS);
        } else {
          notes.set(unitId, `moving from ${from} to ${to}: the lease changed meanwhile`);
          wake(KICK_DELAY_MS);
        }
      } catch (error) {
        notes.set(unitId, `could not revoke from ${from}: ${errorText(error)}`);
        wake(Math.min(intervalMs, 500));
      }
    });
    // Pending revokes: make sure the owner's current session was told (a new leader, or the owner
    // reconnected since).
    for (const [unitId, lease] of leases) {
      if (lease.revoked && lease.owner !== undefined && activeIds.has(unitId)) {
        sendRevoke(unitId, lease.owner, lease.epoch, "rebalance");
      }
    }
    // Units no longer wanted: stop their owners.
    await forEachLimit(orphans, concurrency, async (unitId) => {
      if (term !== current) return;
      const held = current.confirmed.get(unitId);
      current.confirmed.delete(unitId);
      if (held === undefined) return;
      const reason = pausedIds.has(unitId)
        ? `flow ${unitId.slice(0, unitId.indexOf("/"))} paused`
        : "no longer replicated (source topic deleted, or flow changed or removed)";
      try {
        const result = await store.revokeUnit(unitId, {
          owner: held.agentId,
          epoch: held.epoch,
          fence,
        });
        if (result.reason === "not-leader") return lostTerm();
        if (result.revoked || result.reason === "already-revoked") {
          sendRevoke(unitId, held.agentId, held.epoch, reason);
        }
      } catch (error) {
        logger.warn({ unit: unitId, err: errorText(error) }, "could not revoke a unit");
        current.confirmed.set(unitId, held);
        wake(Math.min(intervalMs, 500));
      }
    });
    if (term !== current) return;

    // Grants: new owners, and confirmations of existing ones.
    const toGrant = [...plan.grants];
    let minEpochs: ReadonlyMap<string, Epoch> = new Map();
    let minEpochError: string | undefined;
    if (toGrant.length > 0) {
      try {
        minEpochs = await minEpochOf(toGrant.map(([id]) => unitById.get(id)!));
      } catch (error) {
        minEpochError = errorText(error);
      }
    }
    if (minEpochError !== undefined) {
      // Without the epochs the target cluster saw, a grant after a Redis loss could reuse one.
      for (const [unitId] of toGrant) {
        notes.set(unitId, `cannot read the unit's progress epochs: ${minEpochError}`);
      }
      wake(Math.min(intervalMs, 1000));
    } else {
      await forEachLimit(toGrant, concurrency, async ([unitId, to]) => {
        if (term !== current) return;
        let result: GrantResult;
        try {
          // Inside the try: an epoch beyond what the store accepts is this unit's problem only.
          result = await store.grantUnit(unitId, to, {
            minEpoch: minEpochs.get(unitId) ?? NO_EPOCH,
            graceMs,
            ttlMs,
            fence,
          });
        } catch (error) {
          notes.set(unitId, `could not grant to ${to}: ${errorText(error)}`);
          wake(Math.min(intervalMs, 500));
          return;
        }
        if (result.granted) {
          current.confirmed.set(unitId, { agentId: to, epoch: result.epoch });
          leases.set(unitId, { owner: to, epoch: result.epoch, revoked: false });
          if (result.reason !== "already-owner") {
            logger.debug(
              { unit: unitId, agent: to, epoch: String(result.epoch), reason: result.reason },
              "granted",
            );
          }
          return;
        }
        if (result.reason === "not-leader") return lostTerm();
        current.confirmed.delete(unitId);
        notes.set(unitId, refusalNote(to, result));
        if (result.retryInMs !== undefined) wake(result.retryInMs + RETRY_SLACK_MS);
      });
    }
    if (term !== current) return;

    // Remember the decisions, for the next round (stickiness) and for status.
    let changed = plan.desired.size !== current.lastDesired.size;
    for (const [unitId, agentId] of plan.desired) {
      if (current.lastDesired.get(unitId) !== agentId) changed = true;
    }
    current.lastDesired = new Map(plan.desired);
    if (changed || current.computeTime === undefined) current.computeTime = new Date();
    for (const [unitId, why] of plan.unassigned) notes.set(unitId, why);
    current.notes = notes;

    // Snapshots: each connected agent's full desired set, sent when it or a flow's spec changed.
    const byAgent = new Map<string, AssignedUnitInit[]>();
    const signatures = new Map<string, string[]>();
    const specs = new Map<string, { spec: FlowSpecInit; signature: string }>();
    const flowsByAgent = new Map<string, Set<string>>();
    const specOf = (flow: FlowConfig) => {
      let found = specs.get(flow.name);
      if (found === undefined) {
        const spec = flowSpecOf(flow, flowVersion(flow.name));
        found = { spec, signature: JSON.stringify(spec) };
        specs.set(flow.name, found);
      }
      return found;
    };
    for (const { unit, id, flow } of active) {
      const agentId = plan.desired.get(id);
      if (agentId === undefined) continue;
      const held = current.confirmed.get(id);
      const lease = leases.get(id);
      if (held?.agentId !== agentId || lease?.owner !== agentId || lease.revoked) continue;
      const list = byAgent.get(agentId) ?? [];
      list.push({
        unit: { flow: unit.flow, sourceTopic: unit.sourceTopic, partition: unit.partition },
        epoch: epochToProto(held.epoch),
        remoteTopic: unit.remoteTopic,
        flow: specOf(flow).spec,
      });
      byAgent.set(agentId, list);
      const signature = signatures.get(agentId) ?? [];
      signature.push(`${id}@${held.epoch}`);
      const flowsOfAgent = flowsByAgent.get(agentId) ?? new Set<string>();
      flowsOfAgent.add(flow.name);
      flowsByAgent.set(agentId, flowsOfAgent);
      signatures.set(agentId, signature);
    }
    const outgoing: { session: ConnectedAgent; signature: string }[] = [];
    for (const session of sessions) {
      const flowSpecs = [...(flowsByAgent.get(session.agentId) ?? [])]
        .sort()
        .map((name) => specs.get(name)!.signature);
      const signature = [(signatures.get(session.agentId) ?? []).join(","), ...flowSpecs].join("|");
      const last = current.snapshots.get(session.sessionId);
      if (last === signature) continue;
      // The first snapshot waits until the agent is live in Redis: an empty snapshot sent too
      // early would tell an agent that reconnected after a failover to stop what it runs.
      if (last === undefined && plan.roles.get(session.agentId) !== "active") continue;
      outgoing.push({ session, signature });
    }
    if (outgoing.length > 0) {
      current.generation += 1n;
      const generation = String(current.generationBase + current.generation);
      const roundTrace = requestTraces.startRound({ "geo.assignment.generation": generation });
      const traceContext = roundTrace.carrier;
      let sent = 0;
      for (const { session, signature } of outgoing) {
        const units = byAgent.get(session.agentId) ?? [];
        if (
          directory.send(session.agentId, session.sessionId, {
            message: { case: "assignment", value: { generation, units, traceContext } },
          })
        ) {
          sent += 1;
          current.snapshots.set(session.sessionId, signature);
          logger.debug(
            { agent: session.agentId, generation, units: units.length },
            "assignment sent",
          );
        }
      }
      roundTrace.end(sent);
    }
    const open = new Set(sessions.map((session) => session.sessionId));
    for (const sessionId of current.snapshots.keys()) {
      if (!open.has(sessionId)) current.snapshots.delete(sessionId);
    }

    // Status.
    const units = new Map<string, UnitAssignment>();
    const desiredCounts = new Map<string, number>();
    for (const { id } of active) {
      const agentId = plan.desired.get(id);
      const held = current.confirmed.get(id);
      const granted = agentId !== undefined && held?.agentId === agentId;
      const note = notes.get(id);
      units.set(id, {
        ...(agentId === undefined ? {} : { desiredAgentId: agentId }),
        ...(granted ? { epoch: held.epoch } : {}),
        ...(note === undefined || granted ? {} : { note }),
      });
      if (agentId !== undefined) desiredCounts.set(agentId, (desiredCounts.get(agentId) ?? 0) + 1);
    }
    view = {
      leading: true,
      generation: current.generationBase + current.generation,
      computeTime: current.computeTime,
      units,
      desiredCounts,
    };
    const tookMs = now() - startedAt;
    if (plan.revokes.length > 0 || plan.grants.size > 0 || outgoing.length > 0) {
      logger.info(
        {
          units: active.length,
          agents: plan.roles.size,
          moved: plan.moved,
          revokes: plan.revokes.length,
          grants: plan.grants.size,
          unassigned: plan.unassigned.size,
          snapshots: outgoing.length,
          tookMs: Math.round(tookMs),
        },
        "assignment round",
      );
    }
    schedule(wakeIn);
  }

  function endTerm() {
    if (term === undefined) return;
    term = undefined;
    clearTimeout(timer);
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
    view = standbyView(view.generation);
  }

  return {
    startTerm(lease) {
      endTerm();
      term = {
        lease,
        startedAt: now(),
        generationBase: lease.epoch << 32n,
        generation: 0n,
        lastDesired: new Map(),
        confirmed: new Map(),
        revokeSent: new Map(),
        snapshots: new Map(),
        notes: new Map(),
        computeTime: undefined,
      };
      logger.info({ leaderEpoch: String(lease.epoch) }, "leading: assignment rounds start");
      schedule(0);
    },
    endTerm() {
      if (term !== undefined) logger.info("no longer leading: assignment rounds stop");
      endTerm();
    },
    kick(why) {
      if (term === undefined) return;
      requestTraces.remember();
      logger.trace({ why }, "assignment round requested");
      schedule(KICK_DELAY_MS);
    },
    view: () => view,
    runOnce: () => trigger(),
    async stop() {
      stopped = true;
      endTerm();
      await running;
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

function standbyView(generation: bigint): AssignmentView {
  return {
    leading: false,
    generation,
    computeTime: undefined,
    units: new Map(),
    desiredCounts: new Map(),
  };
}

/** What an agent needs of the flow to run its units (no cluster secrets: it has its own config). */
export function flowSpecOf(flow: FlowConfig, version = 1n): FlowSpecInit {
  const view = fileFlowView(flow, "");
  return {
    name: flow.name,
    version: String(version),
    sourceCluster: flow.source,
    targetCluster: flow.target,
    namingPolicy: view.namingPolicy,
    provenanceHeader: flow.provenanceHeader,
    startPosition: view.startPosition,
    onOffsetOutOfRange: view.onOffsetOutOfRange,
    paused: flow.paused,
  };
}

function refusalNote(to: string, result: Extract<GrantResult, { granted: false }>): string {
  const retry =
    result.retryInMs === undefined ? "" : ` (about ${Math.ceil(result.retryInMs)} ms left)`;
  const owner = result.currentOwner ?? "the previous owner";
  switch (result.reason) {
    case "grace":
      return `waiting to grant to ${to}: the lease of ${owner} ended, grace period running${retry}`;
    case "revoking":
      return `waiting to grant to ${to}: revoked from ${owner}, waiting for it to release${retry}`;
    case "recovering":
      return `waiting to grant to ${to}: Redis came back empty; an earlier owner may still trust its lease${retry}`;
    case "owner-live":
      return `waiting to grant to ${to}: ${owner} still holds a live lease`;
    case "agent-not-live":
      return `cannot grant to ${to}: its liveness lease is gone`;
    case "not-leader":
      return "this coordinator is no longer the leader";
  }
}

function parseUnitId(
  id: string,
): { flow: string; sourceTopic: string; partition: number } | undefined {
  const first = id.indexOf("/");
  const last = id.lastIndexOf("/");
  if (first < 0 || last <= first) return undefined;
  return {
    flow: id.slice(0, first),
    sourceTopic: id.slice(first + 1, last),
    partition: Number(id.slice(last + 1)),
  };
}

async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
