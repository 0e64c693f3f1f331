// CoordinatorService's clusters (from the configuration), and the agents, units and assignment
// (held by the leader: a standby forwards these reads, answering itself when the leader cannot
// be reached).
import {
  Code,
  GeoError,
  invalidArgument,
  paginate,
  requireEnum,
  requireNonEmpty,
  requirePresent,
} from "@geo/grpc";
import { type coordinatorV1, replicationV1 } from "@geo/proto";
import type { AdminApiOptions, AdminHandlers, AdminViews, UnitStatusInit } from "./admin-views";
import { assignmentSummary } from "./assignment/unit-status";
import { clusterView, sortedClusters } from "./cluster-and-flow-views";
import type { DesiredUnit } from "./discovery";

export function clusterHandlers(
  { config, registry }: AdminApiOptions,
  views: AdminViews,
): AdminHandlers<"listClusters" | "getCluster"> {
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
          `no cluster "${request.alias}"; known clusters: ${views.knownAliases()}`,
        );
      }
      return { cluster: clusterView(cluster, registry.flows()) };
    },
  };
}

export function unitHandlers(
  options: AdminApiOptions,
  views: AdminViews,
): AdminHandlers<"listAgents" | "listUnits" | "getUnit" | "getAssignment"> {
  const { registry, sessions, assignment, forwarder } = options;
  const requireKnownFlow = (flow: string) => {
    if (flow !== "" && registry.get(flow) === undefined) {
      throw invalidArgument("flow", `no flow "${flow}"; flows: ${views.knownFlows()}`);
    }
  };
  return {
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
      requireKnownFlow(request.flow);
      const matches = unitFilter(request);
      const units = views.statusesOf("").filter(matches);
      const { items, nextPageToken } = paginate(units, request, {
        defaultSize: 500,
        maxSize: 5000,
      });
      return { units: items, nextPageToken };
    },

    getUnit: async (request, context) => {
      const forwarded = await forwarder?.forward("getUnit", request, context);
      if (forwarded !== undefined) return forwarded;
      return { unit: views.statusOf(findUnit(options, views, request)) };
    },

    getAssignment: async (request, context) => {
      const forwarded = await forwarder?.forward("getAssignment", request, context);
      if (forwarded !== undefined) return forwarded;
      requireKnownFlow(request.flow);
      const view = assignment?.view();
      return assignmentSummary({
        statuses: views.statusesOf(request.flow),
        generation: view?.generation ?? 0n,
        computeTime: view?.computeTime,
        agents: sessions.connected().map((agent) => agent.agentId),
      });
    },
  };
}

/** ListUnits' filters: flow, states, agent (desired or actual), mismatched only. */
function unitFilter(request: coordinatorV1.ListUnitsRequest) {
  const states = new Set(
    request.states.map((state, index) =>
      requireEnum(state, replicationV1.UnitStateSchema, `states[${index}]`),
    ),
  );
  return (unit: UnitStatusInit): boolean =>
    (request.flow === "" || unit.unit?.flow === request.flow) &&
    (states.size === 0 || states.has(unit.state ?? 0)) &&
    (request.agentId === "" ||
      unit.desiredAgentId === request.agentId ||
      unit.actualAgentId === request.agentId) &&
    (!request.mismatchedOnly || unit.desiredAgentId !== unit.actualAgentId);
}

/** The unit GetUnit asks for; NOT_FOUND says why there is none. */
function findUnit(
  { discovery }: AdminApiOptions,
  views: AdminViews,
  request: coordinatorV1.GetUnitRequest,
): DesiredUnit {
  const key = requirePresent(request.unit, "unit");
  requireNonEmpty(key.flow, "unit.flow");
  requireNonEmpty(key.sourceTopic, "unit.source_topic");
  if (key.partition < 0) throw invalidArgument("unit.partition", "must not be negative");
  const flow = views.requireFlow(key.flow).config;
  const unit = discovery
    .units()
    .find(
      (candidate) =>
        candidate.flow === key.flow &&
        candidate.sourceTopic === key.sourceTopic &&
        candidate.partition === key.partition,
    );
  if (unit !== undefined) return unit;
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
