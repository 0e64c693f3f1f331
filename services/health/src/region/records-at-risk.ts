// What an unplanned failover reports about the region it leaves: the records not replicated
// (per flow, topic and partition: the lag now if the source still answers, else the last lag
// measured before it was lost, with when), and how old each consumer group's checkpoints were
// (what a group consumed since then is delivered again in the new region).
import { isHeartbeatsTopic } from "@geo/config";
import type { FinishTransition, GroupCheckpointAge, PartitionRisk } from "@geo/region-state";
import type { FlowInfo, KnownPartitionLag, TransitionDependencies } from "./dependencies";

/** What a failover (or its drill) reports beyond its steps, kept in its record. */
export type FailoverReport = Pick<
  FinishTransition,
  "rpoRecords" | "recordsAtRisk" | "checkpointAges"
>;

export interface RiskReport {
  /** Partitions with records behind, of every flow whose lag was ever known. */
  readonly risks: PartitionRisk[];
  /** Flows whose lag was never measured: the RPO is then unknown. */
  readonly unknownFlows: string[];
  readonly checkpointAges: GroupCheckpointAge[];
  /** Groups whose checkpoints could not be read, with why. */
  readonly checkpointErrors: string[];
}

type RiskDependencies = Pick<TransitionDependencies, "lag" | "lastKnownLag" | "checkpoints">;

export async function assessRecordsAtRisk(
  flows: readonly FlowInfo[],
  groups: readonly string[],
  deps: RiskDependencies,
): Promise<RiskReport> {
  const risks: PartitionRisk[] = [];
  const unknownFlows: string[] = [];
  for (const flow of flows) {
    const partitions = await flowPartitions(flow.name, deps);
    if (partitions === undefined) {
      unknownFlows.push(flow.name);
      continue;
    }
    for (const part of partitions) {
      if (part.records <= 0n || isHeartbeatsTopic(part.topic)) continue;
      risks.push({
        flow: flow.name,
        sourceTopic: part.topic,
        partition: part.partition,
        records: String(part.records),
        measuredAtMs: part.measuredAtMs,
      });
    }
  }
  const checkpointAges: GroupCheckpointAge[] = [];
  const checkpointErrors: string[] = [];
  for (const flow of flows) {
    for (const group of groups) {
      try {
        const found = await deps.checkpoints.checkpoints(flow.name, group);
        checkpointAges.push({
          flow: flow.name,
          group,
          partitions: found.partitions,
          ...(found.oldestAgeMs === undefined ? {} : { oldestAgeMs: found.oldestAgeMs }),
        });
      } catch (error) {
        checkpointErrors.push(`group ${group} over ${flow.name}: ${(error as Error).message}`);
      }
    }
  }
  return { risks, unknownFlows, checkpointAges, checkpointErrors };
}

/** The lag now when it can be measured, else the last one measured; undefined if never. */
async function flowPartitions(
  flow: string,
  deps: RiskDependencies,
): Promise<readonly KnownPartitionLag[] | undefined> {
  try {
    const lag = await deps.lag.flowLag(flow);
    return lag.partitions.map((p) => ({ ...p, measuredAtMs: lag.measuredAtMs }));
  } catch {
    return deps.lastKnownLag.lastKnownLag(flow);
  }
}

export const totalAtRisk = (risks: readonly PartitionRisk[]): bigint =>
  risks.reduce((sum, r) => sum + BigInt(r.records), 0n);

/** One line for the step's detail. */
export function describeRisk(report: RiskReport, nowMs: number): string {
  const total = totalAtRisk(report.risks);
  const oldest = Math.min(nowMs, ...report.risks.map((r) => r.measuredAtMs ?? nowMs));
  const parts = [
    `${total} records at risk in ${report.risks.length} partitions` +
      (report.risks.length === 0 ? "" : ` (lag measured up to ${nowMs - oldest} ms before)`),
  ];
  if (report.unknownFlows.length > 0) {
    parts.push(`unknown: lag of ${report.unknownFlows.join(", ")} never measured`);
  }
  for (const error of report.checkpointErrors) parts.push(`checkpoints unknown: ${error}`);
  for (const age of report.checkpointAges) {
    parts.push(
      age.oldestAgeMs === undefined
        ? `group ${age.group} over ${age.flow}: no checkpoint`
        : `group ${age.group} over ${age.flow}: ${age.partitions} checkpoints, oldest ${age.oldestAgeMs} ms`,
    );
  }
  return parts.join("; ");
}
