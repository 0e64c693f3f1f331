import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { paginate, type ServiceImpl } from "@geo/grpc";
import { unitId } from "@geo/progress";
import { type AgentService, agentV1 } from "@geo/proto";
import type { ReplicationEngine } from "@geo/replication";
import type { CoordinatorSession } from "./coordinator-session";
import { toUnitReport } from "./unit-messages";

export const AGENT_VERSION = "0.1.0";

export interface AgentApiOptions {
  agentId: string;
  region: string;
  startTime: Date;
  coordinatorAddress: string;
  advertiseAddress: () => string;
  engine: () => ReplicationEngine;
  session: () => CoordinatorSession | undefined;
}

/** The agent's gRPC API: its status and the units it runs. */
export function agentApi(o: AgentApiOptions): Partial<ServiceImpl<typeof AgentService>> {
  return {
    getAgentStatus: () => {
      const status = o.session()?.status();
      const units = o.engine().statuses();
      return {
        agentId: o.agentId,
        region: o.region,
        version: AGENT_VERSION,
        advertiseAddress: o.advertiseAddress(),
        startTime: timestampFromDate(o.startTime),
        sessionState: {
          connecting: agentV1.SessionState.CONNECTING,
          connected: agentV1.SessionState.CONNECTED,
          disconnected: agentV1.SessionState.DISCONNECTED,
        }[status?.state ?? "connecting"],
        sessionId: status?.sessionId ?? "",
        coordinatorAddress: o.coordinatorAddress,
        sessionChangeTime: timestampFromDate(status?.changedAt ?? o.startTime),
        runningUnitCount: units.filter((unit) => unit.state === "running").length,
        errorUnitCount: units.filter((unit) => unit.state === "error").length,
        recordsPerSecond: units.reduce((sum, unit) => sum + unit.recordsPerSecond, 0),
        bytesPerSecond: units.reduce((sum, unit) => sum + unit.bytesPerSecond, 0),
        assignmentGeneration: status?.assignmentGeneration ?? "0",
      };
    },
    listRunningUnits: (request) => {
      const units = o
        .engine()
        .statuses()
        .filter((status) => request.flow === "" || status.unit.flow === request.flow)
        .sort((a, b) => unitId(a.unit).localeCompare(unitId(b.unit)));
      const page = paginate(units, request);
      return { units: page.items.map(toUnitReport), nextPageToken: page.nextPageToken };
    },
  };
}
