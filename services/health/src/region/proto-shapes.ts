// The store's region states and records as geo.health.v1 messages.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { epochToProto } from "@geo/positions";
import { healthV1 } from "@geo/proto";
import type {
  RegionGroup,
  RegionPhase,
  RegionState,
  StepRecord,
  TransitionKind,
  TransitionOutcome,
  TransitionRecord,
} from "@geo/region-state";

type RegionStateShape = MessageInitShape<typeof healthV1.RegionStateSchema>;
type RecordShape = MessageInitShape<typeof healthV1.TransitionRecordSchema>;

const PHASES: Record<RegionPhase, healthV1.RegionPhase> = {
  stable: healthV1.RegionPhase.STABLE,
  "switching-over": healthV1.RegionPhase.SWITCHING_OVER,
  "failing-over": healthV1.RegionPhase.FAILING_OVER,
  "failed-over": healthV1.RegionPhase.FAILED_OVER,
  "failing-back": healthV1.RegionPhase.FAILING_BACK,
};

const KINDS: Record<TransitionKind, healthV1.TransitionKind> = {
  switchover: healthV1.TransitionKind.SWITCHOVER,
  failover: healthV1.TransitionKind.FAILOVER,
  failback: healthV1.TransitionKind.FAILBACK,
};

const OUTCOMES: Record<TransitionOutcome, healthV1.TransitionOutcome> = {
  running: healthV1.TransitionOutcome.UNSPECIFIED,
  succeeded: healthV1.TransitionOutcome.SUCCEEDED,
  failed: healthV1.TransitionOutcome.FAILED,
  "drill-passed": healthV1.TransitionOutcome.DRILL_PASSED,
  "drill-failed": healthV1.TransitionOutcome.DRILL_FAILED,
  abandoned: healthV1.TransitionOutcome.ABANDONED,
};

export function stepShape(
  step: StepRecord,
): MessageInitShape<typeof healthV1.TransitionStepSchema> {
  return {
    name: step.name,
    description: step.description,
    startTime: timestampFromMs(step.startTimeMs),
    duration: durationFromMs(step.durationMs),
    ok: step.ok,
    skipped: step.skipped === true,
    detail: step.detail,
  };
}

export function recordShape(record: TransitionRecord): RecordShape {
  return {
    id: record.id,
    flowGroup: record.flowGroup,
    kind: KINDS[record.kind],
    fromRegion: record.fromRegion,
    toRegion: record.toRegion,
    actor: record.actor,
    reason: record.reason,
    startTime: timestampFromMs(record.startTimeMs),
    ...(record.endTimeMs === undefined ? {} : { endTime: timestampFromMs(record.endTimeMs) }),
    dryRun: record.dryRun,
    outcome: OUTCOMES[record.outcome],
    epochBefore: epochToProto(record.epochBefore),
    epochAfter: epochToProto(record.epochAfter),
    steps: record.steps.map(stepShape),
    ...(record.rtoMs === undefined ? {} : { rto: durationFromMs(record.rtoMs) }),
    rpoRecords: record.rpoRecords ?? "0",
    // A failover whose records-at-risk step could not read the lag recorded no RPO.
    rpoUnknown:
      record.rpoRecords === undefined && record.steps.some((s) => s.name === "records-at-risk"),
    recordsAtRisk: (record.recordsAtRisk ?? []).map(({ measuredAtMs, ...risk }) => ({
      ...risk,
      ...(measuredAtMs === undefined ? {} : { measureTime: timestampFromMs(measuredAtMs) }),
    })),
    checkpointAges: (record.checkpointAges ?? []).map(({ oldestAgeMs, ...age }) => ({
      ...age,
      ...(oldestAgeMs === undefined ? {} : { oldestAge: durationFromMs(oldestAgeMs) }),
    })),
    diverged: (record.diverged ?? []).map((range) => ({
      ...range,
      copiedToTopic: range.copiedToTopic ?? "",
    })),
    passiveProtection: (record.passiveProtection ?? []).map((report) => ({
      ...report,
      protectedTopics: [...report.protectedTopics],
      unprotectedTopics: [...report.unprotectedTopics],
      error: report.error ?? "",
    })),
    error: record.error ?? "",
  };
}

export function stateShape(state: RegionState, group: RegionGroup | undefined): RegionStateShape {
  return {
    flowGroup: state.flowGroup,
    activeRegion: state.activeRegion,
    epoch: epochToProto(state.epoch),
    phase: PHASES[state.phase],
    previousActiveRegion: state.previousActiveRegion,
    updateTime: timestampFromMs(state.updateTimeMs),
    updatedBy: state.updatedBy,
    reason: state.reason,
    transitionId: state.transition?.id ?? "",
    regions: (group?.regions ?? []).map((r) => ({
      region: r.region,
      cluster: r.cluster,
      bootstrapServers: [...r.bootstrapServers],
    })),
    ...(state.lastTransition === undefined
      ? {}
      : { lastTransition: recordShape(state.lastTransition) }),
  };
}
