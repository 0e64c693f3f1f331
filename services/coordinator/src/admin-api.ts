// CoordinatorService as far as it is built: clusters and file-owned flows from the configuration
// with the status discovery observes, the agents connected now, and the units discovery wants run
// with their desired owner (the assignment loop's) beside what agents report (actual owner,
// state, lag), and the gap between the two. A standby forwards those status reads to the leader,
// which holds the agents' sessions, and answers them itself when the leader cannot be reached.
// Creating and changing flows through the API comes with the coordinator's flow store; until then
// those methods answer UNIMPLEMENTED (the server does that for methods not given here).

import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { FlowConfig, GeoConfig } from "@geo/config";
import {
  Code,
  GeoError,
  invalidArgument,
  paginate,
  requireEnum,
  requireNonEmpty,
  requirePresent,
  type ServiceImpl,
} from "@geo/grpc";
import { unitId as unitIdOf } from "@geo/progress";
import { type CoordinatorService, coordinatorV1, replicationV1 } from "@geo/proto";
import type { AgentSessions } from "./agent-sessions";
import type { AssignmentView } from "./assignment/assignment-loop";
import type { LeaderForwarder } from "./assignment/leader-forwarding";
import { assignmentSummary, unitStatusView } from "./assignment/unit-status";
import { clusterView, fileFlowView, sortedClusters } from "./cluster-and-flow-views";
import type { DesiredUnit, Discovery, FlowDiscoveryStatus } from "./discovery";

type UnitStatusInit = MessageInitShape<typeof coordinatorV1.UnitStatusSchema>;

export function createAdminApi(options: {
  config: GeoConfig;
  configPath: string;
  sessions: Pick<AgentSessions, "list" | "reportsFor" | "connected">;
  discovery: Pick<Discovery, "units" | "flowStatus">;
  /** The assignment loop's decisions; without it units show PENDING without owner. */
  assignment?: { view(): AssignmentView };
  /** A standby's way to the leader for status reads. */
  forwarder?: LeaderForwarder;
}): Partial<ServiceImpl<typeof CoordinatorService>> {
  const { config, configPath, sessions, discovery, assignment, forwarder } = options;
  const flows = [...config.flows].sort((a, b) => a.name.localeCompare(b.name));
  const flowByName = new Map(flows.map((flow) => [flow.name, flow]));
  const statusOf = (unit: DesiredUnit, view = assignment?.view()): UnitStatusInit => {
    const id = unitIdOf(unit);
    return unitStatusView({
      unit,
      paused: flowByName.get(unit.flow)?.paused ?? false,
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
  const knownFlows = () => flows.map((f) => f.name).join(", ") || "none";
  const flowView = (flow: FlowConfig): coordinatorV1.Flow => {
    const view = create(coordinatorV1.FlowSchema, fileFlowView(flow, configPath));
    const running = statusesOf(flow.name).filter(
      (unit) => unit.state === replicationV1.UnitState.RUNNING,
    ).length;
    view.status = flowStatusView(discovery.flowStatus(flow.name), running);
    return view;
  };

  return {
    listClusters: () => ({ clusters: sortedClusters(config).map((c) => clusterView(c, flows)) }),

    getCluster: (request) => {
      requireNonEmpty(request.alias, "alias");
      const cluster = config.clusters[request.alias];
      if (cluster === undefined) {
        throw new GeoError(
          Code.NOT_FOUND,
          `no cluster "${request.alias}"; known clusters: ${knownAliases()}`,
        );
      }
      return { cluster: clusterView(cluster, flows) };
    },

    listFlows: (request) => {
      for (const [field, alias] of [
        ["source_cluster", request.sourceCluster],
        ["target_cluster", request.targetCluster],
      ] as const) {
        if (alias !== "" && config.clusters[alias] === undefined) {
          throw invalidArgument(field, `no cluster "${alias}"; known clusters: ${knownAliases()}`);
        }
      }
      const matching = flows.filter(
        (flow) =>
          (request.sourceCluster === "" || flow.source === request.sourceCluster) &&
          (request.targetCluster === "" || flow.target === request.targetCluster),
      );
      const { items, nextPageToken } = paginate(matching, request);
      return { flows: items.map(flowView), nextPageToken };
    },

    getFlow: (request) => {
      requireNonEmpty(request.name, "name");
      const flow = flows.find((candidate) => candidate.name === request.name);
      if (flow === undefined) {
        throw new GeoError(Code.NOT_FOUND, `no flow "${request.name}"; flows: ${knownFlows()}`);
      }
      return { flow: flowView(flow) };
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
      if (request.flow !== "" && !flows.some((flow) => flow.name === request.flow)) {
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
      const flow = flows.find((candidate) => candidate.name === key.flow);
      if (flow === undefined) {
        throw new GeoError(Code.NOT_FOUND, `no flow "${key.flow}"; flows: ${knownFlows()}`);
      }
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
      if (request.flow !== "" && !flowByName.has(request.flow)) {
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
