// An agent as the coordinator knows it: what it said in its hello, its session, and its latest
// report per unit; and how ListAgents shows it.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type agentV1, type coordinatorV1, replicationV1 } from "@geo/proto";

export type AgentView = MessageInitShape<typeof coordinatorV1.AgentSchema>;

export interface AgentRecord {
  id: string;
  region: string;
  address: string;
  version: string;
  capacity: number;
  sessionId: string;
  connected: boolean;
  connectedSince: Date;
  lastHeartbeat: Date;
  /** Monotonic ms when the last session ended; undefined while connected. */
  disconnectedAt: number | undefined;
  /** The agent's latest report per unit id. */
  reports: Map<string, agentV1.UnitReport>;
}

/** The record of an agent that just said hello, connected now, without reports yet. */
export function agentRecordOf(hello: agentV1.Hello, sessionId: string): AgentRecord {
  const now = new Date();
  const weight = hello.capacity?.weight ?? 0;
  return {
    id: hello.agentId,
    region: hello.region,
    address: hello.advertiseAddress,
    version: hello.version,
    capacity: weight > 0 && Number.isFinite(weight) ? weight : 1,
    sessionId,
    connected: true,
    connectedSince: now,
    lastHeartbeat: now,
    disconnectedAt: undefined,
    reports: new Map(),
  };
}

/** The agent with its load summed over the units it reports. */
export function agentView(agent: AgentRecord, desiredUnitCount: number): AgentView {
  let running = 0;
  let bytes = 0;
  let records = 0;
  let lag = 0n;
  for (const report of agent.reports.values()) {
    if (report.state === replicationV1.UnitState.RUNNING) running++;
    bytes += report.bytesPerSecond;
    records += report.recordsPerSecond;
    lag += BigInt(report.lag?.records || "0");
  }
  return {
    id: agent.id,
    region: agent.region,
    address: agent.address,
    version: agent.version,
    connected: agent.connected,
    connectedSince: timestampFromDate(agent.connectedSince),
    lastHeartbeatTime: timestampFromDate(agent.lastHeartbeat),
    desiredUnitCount,
    runningUnitCount: running,
    load: {
      bytesPerSecond: bytes,
      recordsPerSecond: records,
      lagRecords: String(lag),
    },
  };
}
