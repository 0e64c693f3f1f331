import { healthV1 } from "@geo/proto";
import type { FlowLag } from "./flow-lag";
import type { HeartbeatState } from "./heartbeats";

export const FlowStatus = healthV1.FlowStatus;
export type FlowStatus = healthV1.FlowStatus;

export interface FlowStatusThresholds {
  /** Lag in seconds, or heartbeat age, above which a flow is degraded. Default 10 s. */
  degradedAfterMs: number;
  /** Heartbeat age (or time without any heartbeat since monitoring began) above which a flow is stuck. Default 30 s. */
  stuckAfterMs: number;
}

export const DEFAULT_THRESHOLDS: FlowStatusThresholds = {
  degradedAfterMs: 10_000,
  stuckAfterMs: 30_000,
};

/**
 * A flow's health from its last lag measurement and heartbeats. Unknown when the lag cannot be
 * measured; stuck when no heartbeat has come through for `stuckAfterMs`; degraded when behind
 * by more than `degradedAfterMs` (time) or paused; healthy otherwise.
 */
export function classifyFlow(
  lag: FlowLag | undefined,
  heartbeat: HeartbeatState | undefined,
  context: { now: number; monitoringSince: number; paused: boolean },
  thresholds: FlowStatusThresholds = DEFAULT_THRESHOLDS,
): { status: FlowStatus; reason: string } {
  if (lag === undefined) return { status: FlowStatus.UNSPECIFIED, reason: "not measured yet" };
  if (lag.unknown !== undefined) return { status: FlowStatus.UNKNOWN, reason: lag.unknown };
  const last = heartbeat?.lastTimestamp;
  const ageMs = context.now - (last ?? context.monitoringSince);
  if (context.paused) return { status: FlowStatus.DEGRADED, reason: "flow is paused" };
  if (ageMs > thresholds.stuckAfterMs) {
    return {
      status: FlowStatus.STUCK,
      reason:
        last === undefined
          ? `no heartbeat arrived in ${Math.round(ageMs / 1000)} s`
          : `last heartbeat ${Math.round(ageMs / 1000)} s old`,
    };
  }
  if (lag.maxAgeMs > thresholds.degradedAfterMs) {
    return {
      status: FlowStatus.DEGRADED,
      reason: `${lag.totalRecords} records behind, oldest ${Math.round(lag.maxAgeMs / 1000)} s old`,
    };
  }
  if (last !== undefined && ageMs > thresholds.degradedAfterMs) {
    return {
      status: FlowStatus.DEGRADED,
      reason: `last heartbeat ${Math.round(ageMs / 1000)} s old`,
    };
  }
  if (last === undefined)
    return { status: FlowStatus.UNSPECIFIED, reason: "waiting for the first heartbeat" };
  return { status: FlowStatus.HEALTHY, reason: `${lag.totalRecords} records behind` };
}
