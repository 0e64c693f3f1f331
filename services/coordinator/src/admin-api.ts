// CoordinatorService: clusters from the configuration; flows (the file's and the API's, from the
// flow registry) with the status discovery observes and their history; the agents connected now;
// and the units discovery wants run with their desired owner (the assignment loop's) beside what
// agents report (actual owner, state, lag), and the gap between the two. A standby forwards status
// reads to the leader, which holds the agents' sessions, and answers them itself when the leader
// cannot be reached; flow changes only the leader makes, so a standby forwards them or refuses.

import { create, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { FLOW_LIMITS, type GeoConfig } from "@geo/config";
import {
  Code,
  GeoError,
  type HandlerContext,
  invalidArgument,
  paginate,
  requireEnum,
  requireInt64,
  requireMaxLength,
  requireNonEmpty,
  requirePresent,
  resolveActor,
  type ServiceImpl,
} from "@geo/grpc";
import { unitId as unitIdOf } from "@geo/progress";
import { type CoordinatorService, coordinatorV1, replicationV1 } from "@geo/proto";
import type { AgentSessions } from "./agent-sessions";
import type { AssignmentView } from "./assignment/assignment-loop";
import type { LeaderForwarder } from "./assignment/leader-forwarding";
import { assignmentSummary, unitStatusView } from "./assignment/unit-status";
import { clusterView, sortedClusters } from "./cluster-and-flow-views";
import type { DesiredUnit, Discovery, FlowDiscoveryStatus } from "./discovery";
import {
  flowView as definitionView,
  draftFromFlow,
  flowChangeView,
  updatedDraft,
} from "./flows/flow-messages";
import type { FlowEntry, FlowRegistry } from "./flows/flow-registry";

/** Longest `actor` a request may name, and longest pause/resume reason, both kept in the history. */
const MAX_ACTOR_LENGTH = 256;
const MAX_REASON_LENGTH = 1024;

/** A flow name: present and not longer than any valid name, so errors never echo megabytes. */
function requireName(value: string, field: string): string {
  return requireMaxLength(requireNonEmpty(value, field), field, FLOW_LIMITS.maxNameLength);
}

type UnitStatusInit = MessageInitShape<typeof coordinatorV1.UnitStatusSchema>;

export function createAdminApi(options: {
  config: GeoConfig;
  configPath: string;
  registry: FlowRegistry;
  sessions: Pick<AgentSessions, "list" | "reportsFor" | "connected">;
  discovery: Pick<Discovery, "units" | "flowStatus">;
  /** The assignment loop's decisions; without it units show PENDING without owner. */
  assignment?: { view(): AssignmentView };
  /** A standby's way to the leader for status reads. */
  forwarder?: LeaderForwarder;
}): Partial<ServiceImpl<typeof CoordinatorService>> {
  const { config, configPath, registry, sessions, discovery, assignment, forwarder } = options;
  const statusOf = (unit: DesiredUnit, view = assignment?.view()): UnitStatusInit => {
    const id = unitIdOf(unit);
    return unitStatusView({
      unit,
      paused: registry.get(unit.flow)?.config.paused ?? false,
      assignment: view?.leading === true ? view.units.get(id) : undefined,
      reports: sessions.reportsFor(id),
      noAssignmentReason:
        view === undefined
          ? "not assigned to an agent yet"
          : view.leading
            ? "waiting for the next assignment round"
            : "this coordinator is a standby and cannot reach the leader, which assigns units",
    });
  };
  const statusesOf = (flow: string): UnitStatusInit[] => {
    const view = assignment?.view();
    return discovery
      .units()
      .filter((unit) => flow === "" || unit.flow === flow)
      .map((unit) => statusOf(unit, view));
  };
  const knownAliases = () =>
    sortedClusters(config)
      .map((cluster) => cluster.alias)
      .join(", ");
  const knownFlows = () =>
    registry
      .list()
      .map((entry) => entry.config.name)
      .join(", ") || "none";
  /** Before the flow store was read once, API flows are unknown, not absent. */
  const flowsKnown = () => {
    if (!registry.loaded()) {
      throw new GeoError(
        Code.UNAVAILABLE,
        "this coordinator has not read the flow store yet (it is starting, or the store's cluster is unreachable); retry",
        { retriable: true },
      );
    }
    return registry;
  };
  const requireFlow = (name: string): FlowEntry => {
    flowsKnown();
    const entry = registry.get(name);
    if (entry === undefined) {
      throw new GeoError(Code.NOT_FOUND, `no flow "${name}"; flows: ${knownFlows()}`);
    }
    return entry;
  };
  const flowView = (entry: FlowEntry, withStatus = true): coordinatorV1.Flow => {
    const view = create(coordinatorV1.FlowSchema, definitionView(entry, configPath));
    if (!withStatus) return view;
    const running = statusesOf(entry.config.name).filter(
      (unit) => unit.state === replicationV1.UnitState.RUNNING,
    ).length;
    view.status = flowStatusView(discovery.flowStatus(entry.config.name), running);
    const region = config.clusters[entry.config.target]?.region;
    // Only the leader has the agents' sessions; a standby answering itself cannot tell.
    if (
      region !== undefined &&
      assignment?.view().leading === true &&
      !sessions.connected().some((agent) => agent.region === region)
    ) {
      view.status.warnings.push(
        `no agent of region "${region}" is connected: the flow's units (target cluster "${entry.config.target}") wait until an agent started with --region ${region} connects`,
      );
    }
    return view;
  };
  const actorOf = (request: { actor: string }, context: HandlerContext) => {
    requireMaxLength(request.actor, "actor", MAX_ACTOR_LENGTH);
    const actor = resolveActor(request.actor, context).slice(0, MAX_ACTOR_LENGTH);
    // Forwarded to the leader with the name resolved here, where the caller's peer is known.
    request.actor = actor;
    return actor;
  };
  /** PauseFlow and ResumeFlow: the same checks and forwarding, one flag apart. */
  const setPaused = async <M extends "pauseFlow" | "resumeFlow">(
    method: M,
    paused: boolean,
    request: MessageShape<(typeof CoordinatorService)["method"][M]["input"]>,
    context: HandlerContext,
  ) => {
    requireName(request.name, "name");
    requireMaxLength(request.reason, "reason", MAX_REASON_LENGTH);
    const actor = actorOf(request, context);
    const forwarded = await forwarder?.forwardWrite(method, request, context);
    if (forwarded !== undefined) return forwarded;
    return {
      flow: flowView(await registry.setPaused(request.name, paused, request.reason, { actor })),
    };
  };

  return {
    listClusters: () => ({
      clusters: sortedClusters(config).map((c) => clusterView(c, registry.flows())),
    }),

    getCluster: (request) => {
      requireNonEmpty(request.alias, "alias");
      const cluster = config.clusters[request.alias];
      if (cluster === undefined) {
        throw new GeoError(
          Code.NOT_FOUND,
          `no cluster "${request.alias}"; known clusters: ${knownAliases()}`,
        );
      }
      return { cluster: clusterView(cluster, registry.flows()) };
    },

    listFlows: async (request, context) => {
      const forwarded = await forwarder?.forward("listFlows", request, context);
      if (forwarded !== undefined) return forwarded;
      for (const [field, alias] of [
        ["source_cluster", request.sourceCluster],
        ["target_cluster", request.targetCluster],
      ] as const) {
        if (alias !== "" && config.clusters[alias] === undefined) {
          throw invalidArgument(field, `no cluster "${alias}"; known clusters: ${knownAliases()}`);
        }
      }
      const matching = flowsKnown()
        .list()
        .filter(
          ({ config: flow }) =>
            (request.sourceCluster === "" || flow.source === request.sourceCluster) &&
            (request.targetCluster === "" || flow.target === request.targetCluster),
        );
      const { items, nextPageToken } = paginate(matching, request);
      return { flows: items.map((entry) => flowView(entry)), nextPageToken };
    },

    getFlow: async (request, context) => {
      requireName(request.name, "name");
      const forwarded = await forwarder?.forward("getFlow", request, context);
      if (forwarded !== undefined) return forwarded;
      return { flow: flowView(requireFlow(request.name)) };
    },

    createFlow: async (request, context) => {
      const flow = requirePresent(request.flow, "flow");
      requireName(flow.name, "flow.name");
      const actor = actorOf(request, context);
      const forwarded = await forwarder?.forwardWrite("createFlow", request, context);
      if (forwarded !== undefined) return forwarded;
      const entry = await registry.create(draftFromFlow(flow), {
        actor,
        validateOnly: request.validateOnly,
      });
      return { flow: flowView(entry, !request.validateOnly) };
    },

    updateFlow: async (request, context) => {
      const flow = requirePresent(request.flow, "flow");
      requireName(flow.name, "flow.name");
      requireNonEmpty(request.expectedVersion, "expected_version");
      const expected = requireInt64(request.expectedVersion, "expected_version", { min: 1n });
      const paths = request.updateMask?.paths ?? [];
      const actor = actorOf(request, context);
      const forwarded = await forwarder?.forwardWrite("updateFlow", request, context);
      if (forwarded !== undefined) return forwarded;
      const entry = await registry.update(
        flow.name,
        (current) => updatedDraft(current, flow, paths),
        expected,
        { actor, validateOnly: request.validateOnly },
      );
      return { flow: flowView(entry, !request.validateOnly) };
    },

    deleteFlow: async (request, context) => {
      requireName(request.name, "name");
      const expected = requireInt64(request.expectedVersion || "0", "expected_version", {
        min: 0n,
      });
      const actor = actorOf(request, context);
      const forwarded = await forwarder?.forwardWrite("deleteFlow", request, context);
      if (forwarded !== undefined) return forwarded;
      return { flow: flowView(await registry.remove(request.name, expected, { actor }), false) };
    },

    pauseFlow: (request, context) => setPaused("pauseFlow", true, request, context),
    resumeFlow: (request, context) => setPaused("resumeFlow", false, request, context),

    listFlowChanges: async (request, context) => {
      const forwarded = await forwarder?.forward("listFlowChanges", request, context);
      if (forwarded !== undefined) return forwarded;
      const changes = flowsKnown()
        .changes()
        .filter((change) => request.flow === "" || change.flow === request.flow);
      if (request.flow !== "" && changes.length === 0) {
        throw new GeoError(
          Code.NOT_FOUND,
          `no flow "${request.flow}" and no recorded change of one; flows: ${knownFlows()}`,
        );
      }
      const { items, nextPageToken } = paginate(changes, request);
      return {
        changes: items.map((change) => flowChangeView(change, configPath)),
        nextPageToken,
      };
    },

    listAgents: async (request, context) =>
      (await forwarder?.forward("listAgents", request, context)) ?? {
        agents: sessions.list({
          region: request.region,
          includeDisconnected: request.includeDisconnected,
          desiredCount: (id) => assignment?.view().desiredCounts.get(id) ?? 0,
        }),
      },

    listUnits: async (request, context) => {
      const forwarded = await forwarder?.forward("listUnits", request, context);
      if (forwarded !== undefined) return forwarded;
      if (request.flow !== "" && registry.get(request.flow) === undefined) {
        throw invalidArgument("flow", `no flow "${request.flow}"; flows: ${knownFlows()}`);
      }
      const states = new Set(
        request.states.map((state, index) =>
          requireEnum(state, replicationV1.UnitStateSchema, `states[${index}]`),
        ),
      );
      const units = statusesOf("").filter(
        (unit) =>
          (request.flow === "" || unit.unit?.flow === request.flow) &&
          (states.size === 0 || states.has(unit.state ?? 0)) &&
          (request.agentId === "" ||
            unit.desiredAgentId === request.agentId ||
            unit.actualAgentId === request.agentId) &&
          (!request.mismatchedOnly || unit.desiredAgentId !== unit.actualAgentId),
      );
      const { items, nextPageToken } = paginate(units, request, {
        defaultSize: 500,
        maxSize: 5000,
      });
      return { units: items, nextPageToken };
    },

    getUnit: async (request, context) => {
      const forwarded = await forwarder?.forward("getUnit", request, context);
      if (forwarded !== undefined) return forwarded;
      const key = requirePresent(request.unit, "unit");
      requireNonEmpty(key.flow, "unit.flow");
      requireNonEmpty(key.sourceTopic, "unit.source_topic");
      if (key.partition < 0) throw invalidArgument("unit.partition", "must not be negative");
      const flow = requireFlow(key.flow).config;
      const unit = discovery
        .units()
        .find(
          (candidate) =>
            candidate.flow === key.flow &&
            candidate.sourceTopic === key.sourceTopic &&
            candidate.partition === key.partition,
        );
      if (unit === undefined) {
        const ofTopic = discovery
          .units()
          .filter(
            (candidate) => candidate.flow === key.flow && candidate.sourceTopic === key.sourceTopic,
          );
        throw new GeoError(
          Code.NOT_FOUND,
          ofTopic.length === 0
            ? `flow "${key.flow}" has no unit of topic "${key.sourceTopic}": the topic is not on ${flow.source}, does not match the flow's filter, or its remote topic is not ready yet`
            : `flow "${key.flow}" has no unit ${key.sourceTopic}[${key.partition}]: the topic has partitions 0..${ofTopic.length - 1}`,
        );
      }
      return { unit: statusOf(unit) };
    },

    getAssignment: async (request, context) => {
      const forwarded = await forwarder?.forward("getAssignment", request, context);
      if (forwarded !== undefined) return forwarded;
      if (request.flow !== "" && registry.get(request.flow) === undefined) {
        throw invalidArgument("flow", `no flow "${request.flow}"; flows: ${knownFlows()}`);
      }
      const view = assignment?.view();
      return assignmentSummary({
        statuses: statusesOf(request.flow),
        generation: view?.generation ?? 0n,
        computeTime: view?.computeTime,
        agents: sessions.connected().map((agent) => agent.agentId),
      });
    },
  };
}

function flowStatusView(
  status: FlowDiscoveryStatus | undefined,
  runningUnitCount: number,
): coordinatorV1.FlowStatus {
  return create(coordinatorV1.FlowStatusSchema, {
    matchedTopicCount: status?.matchedTopicCount ?? 0,
    unitCount: status?.unitCount ?? 0,
    runningUnitCount,
    warnings: [...(status?.warnings ?? [])],
    ...(status?.discoveryTime === undefined
      ? {}
      : { discoveryTime: timestampFromDate(status.discoveryTime) }),
  });
}
