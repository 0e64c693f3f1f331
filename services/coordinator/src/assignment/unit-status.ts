// Status of units as the admin API shows it: what the coordinator wants (desired owner, granted
// epoch, why a unit waits) beside what agents report they run (actual owner, state, lag). Pure
// functions of the two, so the rules are tested without servers.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate, timestampMs } from "@bufbuild/protobuf/wkt";
import { compareEpochs, type Epoch, epochFromProto, epochToProto, NO_EPOCH } from "@geo/positions";
import type { UnitKey as UnitRef } from "@geo/progress";
import { type agentV1, type coordinatorV1, replicationV1 } from "@geo/proto";

type UnitStatusInit = MessageInitShape<typeof coordinatorV1.UnitStatusSchema>;
type AssignmentSummaryInit = MessageInitShape<typeof coordinatorV1.GetAssignmentResponseSchema>;
const State = replicationV1.UnitState;

/** What the assignment loop decided for one unit. */
export interface UnitAssignment {
  /** Agent that should run the unit; undefined when none can. */
  readonly desiredAgentId?: string;
  /** Epoch granted to the desired agent; undefined until the grant succeeded. */
  readonly epoch?: Epoch;
  /** Why the unit is not (yet) granted to its desired agent, or has no agent. */
  readonly note?: string;
}

/** A unit report and the agent that sent it. */
export interface ReportedUnit {
  readonly agentId: string;
  readonly report: agentV1.UnitReport;
}

export interface UnitStatusInput {
  readonly unit: UnitRef & { readonly remoteTopic: string };
  /** The flow is paused: its units are not assigned. */
  readonly paused: boolean;
  /** Undefined when this coordinator has no assignment for the unit. */
  readonly assignment: UnitAssignment | undefined;
  /** What connected agents report for the unit (usually one; two while it moves). */
  readonly reports: readonly ReportedUnit[];
  /** Said when there is no assignment at all (e.g. "this coordinator is a standby ..."). */
  readonly noAssignmentReason: string;
}

export function unitStatusView(input: UnitStatusInput): UnitStatusInit {
  const { unit, assignment } = input;
  const desired = assignment?.desiredAgentId ?? "";
  const actual = actualReport(input.reports, desired);
  const status: UnitStatusInit = {
    unit: { flow: unit.flow, sourceTopic: unit.sourceTopic, partition: unit.partition },
    remoteTopic: unit.remoteTopic,
    desiredAgentId: desired,
    actualAgentId: actual?.agentId ?? "",
    epoch:
      assignment?.epoch !== undefined
        ? epochToProto(assignment.epoch)
        : (actual?.report.epoch ?? epochToProto(NO_EPOCH)),
    ...stateOf(input, actual),
  };
  if (actual !== undefined) {
    const report = actual.report;
    status.nextSourceOffset = report.nextSourceOffset;
    if (report.lag !== undefined) status.lag = report.lag;
    if (report.reportTime !== undefined) status.reportTime = report.reportTime;
    status.warnings = [...report.warnings];
    status.recordsPerSecond = report.recordsPerSecond;
    status.bytesPerSecond = report.bytesPerSecond;
  }
  return status;
}

/**
 * The report that tells what actually runs: the desired agent's if it sends one, else the one
 * running with the highest epoch. A report of a stopped unit names no actual owner.
 */
export function actualReport(
  reports: readonly ReportedUnit[],
  desiredAgentId: string,
): ReportedUnit | undefined {
  const running = reports.filter((entry) => entry.report.state !== State.STOPPED);
  const own = running.find((entry) => entry.agentId === desiredAgentId);
  if (own !== undefined) return own;
  return [...running].sort(
    (a, b) =>
      Number(b.report.state === State.RUNNING) - Number(a.report.state === State.RUNNING) ||
      compareEpochs(reportedEpoch(b.report), reportedEpoch(a.report)) ||
      reportMs(b.report) - reportMs(a.report),
  )[0];
}

function stateOf(
  input: UnitStatusInput,
  actual: ReportedUnit | undefined,
): Pick<UnitStatusInit, "state" | "reason"> {
  const { assignment } = input;
  if (input.paused) {
    // PAUSED means nothing copies: until its agent has stopped it, the unit still runs.
    if (actual?.report.state === State.RUNNING) {
      return {
        state: State.RUNNING,
        reason: `flow ${input.unit.flow} is paused; ${actual.agentId} is stopping the unit`,
      };
    }
    return {
      state: State.PAUSED,
      reason:
        actual === undefined
          ? `flow ${input.unit.flow} is paused`
          : `flow ${input.unit.flow} is paused; ${actual.agentId} still reports the unit ${stateName(actual.report.state)}`,
    };
  }
  if (assignment === undefined) return { state: State.PENDING, reason: input.noAssignmentReason };
  const desired = assignment.desiredAgentId;
  if (desired === undefined) {
    return { state: State.PENDING, reason: assignment.note ?? "no agent can run it" };
  }
  if (assignment.epoch === undefined) {
    return {
      state: State.PENDING,
      reason: assignment.note ?? `waiting for the lease to be granted to ${desired}`,
    };
  }
  const epoch = assignment.epoch;
  if (actual?.agentId === desired && reportedEpoch(actual.report) === epoch) {
    const state = actual.report.state === State.UNSPECIFIED ? State.PENDING : actual.report.state;
    return { state, reason: actual.report.reason };
  }
  if (actual?.agentId === desired) {
    return {
      state: State.PENDING,
      reason: `${desired} reports epoch ${actual.report.epoch}; granted epoch ${epoch}, not applied yet`,
    };
  }
  if (actual !== undefined) {
    return {
      state: State.PENDING,
      reason: `moving from ${actual.agentId} to ${desired} (epoch ${epoch}); ${actual.agentId} still reports it ${stateName(actual.report.state)}`,
    };
  }
  return {
    state: State.PENDING,
    reason: `granted to ${desired} with epoch ${epoch}; not reported running yet`,
  };
}

/** GetAssignment: the gap between desired and actual, from the units' status views. */
export function assignmentSummary(input: {
  readonly statuses: readonly UnitStatusInit[];
  readonly generation: bigint;
  readonly computeTime: Date | undefined;
  /** Agents to list even when they have no unit (connected ones). */
  readonly agents: readonly string[];
}): AssignmentSummaryInit {
  const stateCounts = new Map<replicationV1.UnitState, number>();
  const perAgent = new Map<string, { desired: number; actual: number }>();
  const agentEntry = (id: string) => {
    let entry = perAgent.get(id);
    if (entry === undefined) {
      entry = { desired: 0, actual: 0 };
      perAgent.set(id, entry);
    }
    return entry;
  };
  for (const id of input.agents) agentEntry(id);
  let unassigned = 0;
  let mismatched = 0;
  for (const status of input.statuses) {
    const state = status.state ?? State.UNSPECIFIED;
    stateCounts.set(state, (stateCounts.get(state) ?? 0) + 1);
    const desired = status.desiredAgentId ?? "";
    const actual = status.actualAgentId ?? "";
    if (state !== State.PAUSED && desired === "") unassigned++;
    if (desired !== actual) mismatched++;
    if (desired !== "") agentEntry(desired).desired++;
    if (actual !== "") agentEntry(actual).actual++;
  }
  return {
    generation: String(input.generation),
    ...(input.computeTime === undefined
      ? {}
      : { computeTime: timestampFromDate(input.computeTime) }),
    unitCount: input.statuses.length,
    unassignedUnitCount: unassigned,
    mismatchedUnitCount: mismatched,
    stateCounts: [...stateCounts]
      .sort(([a], [b]) => a - b)
      .map(([state, count]) => ({ state, count })),
    agents: [...perAgent]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([agentId, counts]) => ({
        agentId,
        desiredUnitCount: counts.desired,
        actualUnitCount: counts.actual,
      })),
  };
}

function stateName(state: replicationV1.UnitState): string {
  return (State[state] ?? "UNSPECIFIED").toLowerCase();
}

function reportedEpoch(report: agentV1.UnitReport): Epoch {
  return epochFromProto(report.epoch || "0", "unit_report.epoch");
}

function reportMs(report: agentV1.UnitReport): number {
  return report.reportTime === undefined ? 0 : timestampMs(report.reportTime);
}
