// Building and sending the AssignmentSnapshots: each connected agent's full desired set (units
// desired on it *and* granted to it, with their epochs and their flows' specs), sent on its
// session when the set or a flow's spec changed since the last snapshot sent on that session.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { FlowConfig } from "@geo/config";
import type { Logger } from "@geo/logging";
import { epochToProto } from "@geo/positions";
import type { agentV1 } from "@geo/proto";
import { fileFlowView } from "../cluster-and-flow-views";
import type { AgentDirectory, ConnectedAgent } from "./assignment-types";
import type { AgentRole, PlanLease } from "./plan";
import type { RequestTraces } from "./request-traces";
import type { ActiveUnit } from "./round-inputs";
import type { Term } from "./term";

type AssignedUnitInit = MessageInitShape<typeof agentV1.AssignedUnitSchema>;
type FlowSpecInit = MessageInitShape<typeof agentV1.FlowSpecSchema>;

/** One agent's snapshot content and the signature that tells whether it changed. */
export interface AgentSet {
  readonly units: AssignedUnitInit[];
  readonly signature: string;
}

interface AgentSetBuilder {
  readonly units: AssignedUnitInit[];
  readonly unitKeys: string[];
  readonly flowNames: Set<string>;
}

/** The desired and granted units of each agent, with their flows' specs. */
export function buildAgentSets(
  active: readonly ActiveUnit[],
  desired: ReadonlyMap<string, string>,
  term: Term,
  leases: ReadonlyMap<string, PlanLease>,
  flowVersion: (flow: string) => bigint,
): Map<string, AgentSet> {
  const specs = new Map<string, { spec: FlowSpecInit; signature: string }>();
  const specOf = (flow: FlowConfig) => {
    let found = specs.get(flow.name);
    if (found === undefined) {
      const spec = flowSpecOf(flow, flowVersion(flow.name));
      found = { spec, signature: JSON.stringify(spec) };
      specs.set(flow.name, found);
    }
    return found;
  };
  const builders = new Map<string, AgentSetBuilder>();
  for (const { unit, id, flow } of active) {
    const agentId = desired.get(id);
    if (agentId === undefined) continue;
    const held = term.confirmed.get(id);
    const lease = leases.get(id);
    if (held?.agentId !== agentId || lease?.owner !== agentId || lease.revoked) continue;
    const builder = builders.get(agentId) ?? { units: [], unitKeys: [], flowNames: new Set() };
    builder.units.push({
      unit: { flow: unit.flow, sourceTopic: unit.sourceTopic, partition: unit.partition },
      epoch: epochToProto(held.epoch),
      remoteTopic: unit.remoteTopic,
      flow: specOf(flow).spec,
    });
    builder.unitKeys.push(`${id}@${held.epoch}`);
    builder.flowNames.add(flow.name);
    builders.set(agentId, builder);
  }
  const sets = new Map<string, AgentSet>();
  for (const [agentId, { units, unitKeys, flowNames }] of builders) {
    const flowSpecs = [...flowNames].sort().map((name) => specs.get(name)!.signature);
    sets.set(agentId, { units, signature: [unitKeys.join(","), ...flowSpecs].join("|") });
  }
  return sets;
}

export interface Outgoing {
  readonly session: ConnectedAgent;
  readonly set: AgentSet;
}

/** The sessions whose snapshot changed since the last one sent on them. */
export function changedSnapshots(
  sessions: readonly ConnectedAgent[],
  sets: ReadonlyMap<string, AgentSet>,
  term: Term,
  roles: ReadonlyMap<string, AgentRole>,
): Outgoing[] {
  const outgoing: Outgoing[] = [];
  for (const session of sessions) {
    // A fresh empty list each time: the message sent holds it.
    const set = sets.get(session.agentId) ?? { units: [], signature: "" };
    const last = term.snapshots.get(session.sessionId);
    if (last === set.signature) continue;
    // The first snapshot waits until the agent is live in Redis: an empty snapshot sent too
    // early would tell an agent that reconnected after a failover to stop what it runs.
    if (last === undefined && roles.get(session.agentId) !== "active") continue;
    outgoing.push({ session, set });
  }
  return outgoing;
}

export interface SnapshotSender {
  readonly directory: AgentDirectory;
  readonly logger: Logger;
  readonly requestTraces: RequestTraces;
}

/** Sends the changed snapshots under the term's next generation, in one round trace. */
export function sendSnapshots(
  sender: SnapshotSender,
  term: Term,
  outgoing: readonly Outgoing[],
): void {
  if (outgoing.length === 0) return;
  term.generation += 1n;
  const generation = String(term.generationBase + term.generation);
  const roundTrace = sender.requestTraces.startRound({ "geo.assignment.generation": generation });
  const traceContext = roundTrace.carrier;
  let sent = 0;
  for (const { session, set } of outgoing) {
    const { units } = set;
    if (
      sender.directory.send(session.agentId, session.sessionId, {
        message: { case: "assignment", value: { generation, units, traceContext } },
      })
    ) {
      sent += 1;
      term.snapshots.set(session.sessionId, set.signature);
      sender.logger.debug(
        { agent: session.agentId, generation, units: units.length },
        "assignment sent",
      );
    }
  }
  roundTrace.end(sent);
}

/** Forgets what was sent on sessions that closed. */
export function forgetClosedSessions(term: Term, sessions: readonly ConnectedAgent[]): void {
  const open = new Set(sessions.map((session) => session.sessionId));
  for (const sessionId of term.snapshots.keys()) {
    if (!open.has(sessionId)) term.snapshots.delete(sessionId);
  }
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
