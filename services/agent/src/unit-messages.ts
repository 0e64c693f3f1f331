// Between the session's protobuf messages and the replication engine's types.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampNow } from "@bufbuild/protobuf/wkt";
import { epochFromProto, epochToProto, offsetToProto } from "@geo/positions";
import type { UnitKey } from "@geo/progress";
import { type agentV1, replicationV1 } from "@geo/proto";
import type { FlowSpecLike, UnitAssignment, UnitState, UnitStatus } from "@geo/replication";

const { NamingPolicy, StartPosition, OffsetOutOfRangePolicy } = replicationV1;

export function toUnitAssignment(assigned: agentV1.AssignedUnit): UnitAssignment {
  const spec = assigned.flow;
  const unit = assigned.unit;
  if (spec === undefined || unit === undefined) {
    throw new Error(`assigned unit without ${unit === undefined ? "unit" : "flow"}`);
  }
  const flow: FlowSpecLike = {
    name: spec.name,
    sourceCluster: spec.sourceCluster,
    targetCluster: spec.targetCluster,
    naming: spec.namingPolicy === NamingPolicy.IDENTITY ? "identity" : "prefix",
    provenanceHeader: spec.provenanceHeader,
    startFrom: spec.startPosition === StartPosition.LATEST ? "latest" : "earliest",
    onOffsetOutOfRange:
      spec.onOffsetOutOfRange === OffsetOutOfRangePolicy.RESET_EARLIEST
        ? "earliest"
        : spec.onOffsetOutOfRange === OffsetOutOfRangePolicy.RESET_LATEST
          ? "latest"
          : "fail",
    paused: spec.paused,
  };
  return {
    unit: { flow: unit.flow, sourceTopic: unit.sourceTopic, partition: unit.partition },
    remoteTopic: assigned.remoteTopic,
    epoch: epochFromProto(assigned.epoch, "assigned_unit.epoch"),
    flow,
  };
}

const STATES: Record<UnitState, replicationV1.UnitState> = {
  pending: replicationV1.UnitState.PENDING,
  running: replicationV1.UnitState.RUNNING,
  paused: replicationV1.UnitState.PAUSED,
  stopped: replicationV1.UnitState.STOPPED,
  error: replicationV1.UnitState.ERROR,
};

export function toUnitReport(
  status: UnitStatus,
): MessageInitShape<typeof agentV1.UnitReportSchema> {
  const now = timestampNow();
  return {
    unit: unitKeyMessage(status.unit),
    epoch: epochToProto(status.epoch),
    state: STATES[status.state],
    reason: status.reason,
    nextSourceOffset: offsetToProto(status.nextSourceOffset),
    lastTargetOffset: offsetToProto(status.lastTargetOffset),
    lag: {
      records: String(status.lagRecords),
      time: durationFromMs(Math.round(status.lagSeconds * 1000)),
      measureTime: now,
    },
    recordsPerSecond: status.recordsPerSecond,
    bytesPerSecond: status.bytesPerSecond,
    ...(status.loadBytesPerSecond === undefined
      ? {}
      : { loadBytesPerSecond: status.loadBytesPerSecond }),
    latencyP50: durationFromMs(Math.round(status.latencyP50Ms)),
    latencyP99: durationFromMs(Math.round(status.latencyP99Ms)),
    reportTime: now,
    warnings: status.warnings,
  };
}

export function unitKeyMessage(unit: UnitKey) {
  return { flow: unit.flow, sourceTopic: unit.sourceTopic, partition: unit.partition };
}
