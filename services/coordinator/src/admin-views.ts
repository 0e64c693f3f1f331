// What the CoordinatorService handlers share: a unit's status (desired owner beside what agents
// report), a flow with its status, and the lookups whose NOT_FOUND names what does exist.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { GeoConfig } from "@geo/config";
import { Code, GeoError, type ServiceImpl } from "@geo/grpc";
import { unitId as unitIdOf } from "@geo/progress";
import { type CoordinatorService, coordinatorV1, replicationV1 } from "@geo/proto";
import type { AgentSessions } from "./agent-sessions";
import type { AssignmentView } from "./assignment/assignment-loop";
import type { LeaderForwarder } from "./assignment/leader-forwarding";
import { unitStatusView } from "./assignment/unit-status";
import { sortedClusters } from "./cluster-and-flow-views";
import type { DesiredUnit, Discovery, FlowDiscoveryStatus } from "./discovery";
import { flowView as definitionView } from "./flows/flow-messages";
import type { FlowEntry, FlowRegistry } from "./flows/flow-registry";

export interface AdminApiOptions {
  config: GeoConfig;
  configPath: string;
  registry: FlowRegistry;
  sessions: Pick<AgentSessions, "list" | "reportsFor" | "connected">;
  discovery: Pick<Discovery, "units" | "flowStatus">;
  /** The assignment loop's decisions; without it units show PENDING without owner. */
  assignment?: { view(): AssignmentView };
  /** A standby's way to the leader for status reads. */
  forwarder?: LeaderForwarder;
}

/** The handlers of some of CoordinatorService's methods. */
export type AdminHandlers<M extends keyof ServiceImpl<typeof CoordinatorService>> = Pick<
  ServiceImpl<typeof CoordinatorService>,
  M
>;

export type UnitStatusInit = MessageInitShape<typeof coordinatorV1.UnitStatusSchema>;

export class AdminViews {
  constructor(private readonly options: AdminApiOptions) {}

  statusOf(unit: DesiredUnit, view = this.options.assignment?.view()): UnitStatusInit {
    const id = unitIdOf(unit);
    return unitStatusView({
      unit,
      paused: this.options.registry.get(unit.flow)?.config.paused ?? false,
      assignment: view?.leading === true ? view.units.get(id) : undefined,
      reports: this.options.sessions.reportsFor(id),
      noAssignmentReason:
        view === undefined
          ? "not assigned to an agent yet"
          : view.leading
            ? "waiting for the next assignment round"
            : "this coordinator is a standby and cannot reach the leader, which assigns units",
    });
  }

  /** The statuses of the flow's units; of every unit for flow "". */
  statusesOf(flow: string): UnitStatusInit[] {
    const view = this.options.assignment?.view();
    return this.options.discovery
      .units()
      .filter((unit) => flow === "" || unit.flow === flow)
      .map((unit) => this.statusOf(unit, view));
  }

  knownAliases(): string {
    return sortedClusters(this.options.config)
      .map((cluster) => cluster.alias)
      .join(", ");
  }

  knownFlows(): string {
    return (
      this.options.registry
        .list()
        .map((entry) => entry.config.name)
        .join(", ") || "none"
    );
  }

  /** Before the flow store was read once, API flows are unknown, not absent. */
  flowsKnown(): FlowRegistry {
    if (!this.options.registry.loaded()) {
      throw new GeoError(
        Code.UNAVAILABLE,
        "this coordinator has not read the flow store yet (it is starting, or the store's cluster is unreachable); retry",
        { retriable: true },
      );
    }
    return this.options.registry;
  }

  requireFlow(name: string): FlowEntry {
    this.flowsKnown();
    const entry = this.options.registry.get(name);
    if (entry === undefined) {
      throw new GeoError(Code.NOT_FOUND, `no flow "${name}"; flows: ${this.knownFlows()}`);
    }
    return entry;
  }

  flowView(entry: FlowEntry, withStatus = true): coordinatorV1.Flow {
    const { config, configPath, discovery, assignment, sessions } = this.options;
    const view = create(coordinatorV1.FlowSchema, definitionView(entry, configPath));
    if (!withStatus) return view;
    const running = this.statusesOf(entry.config.name).filter(
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
  }
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
