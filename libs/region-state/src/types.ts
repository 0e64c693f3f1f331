// The region state of a flow group as the store keeps it (JSON in Redis and in the region topic).
// Times are milliseconds since the epoch, taken from Redis's clock by the scripts.
import { type Epoch, epochFromScript, epochToScriptNumber } from "@geo/positions";

export type RegionPhase =
  | "stable"
  | "switching-over"
  | "failing-over"
  | "failed-over"
  | "failing-back";

export type TransitionKind = "switchover" | "failover" | "failback";

export type TransitionOutcome =
  | "running"
  | "succeeded"
  | "failed"
  | "drill-passed"
  | "drill-failed"
  | "abandoned";

/** One step of a transition. */
export interface StepRecord {
  /** Short machine-readable name: `drain`, `pause-flow`, `commit-offsets`, `flip`... */
  readonly name: string;
  /** What was done, for people. */
  readonly description: string;
  readonly startTimeMs: number;
  readonly durationMs: number;
  readonly ok: boolean;
  /**
   * The step had nothing to do for its subject and did nothing (ok stays true): e.g. committing
   * the offsets of a consumer group that never committed any on the flow's topics.
   */
  readonly skipped?: boolean;
  /** Details, or the error when it failed. */
  readonly detail: string;
}

/** Records of a partition not replicated when a failover moved the active region. */
export interface PartitionRisk {
  readonly flow: string;
  readonly sourceTopic: string;
  readonly partition: number;
  /** Decimal string: records behind. */
  readonly records: string;
  /** When that lag was measured (the last successful measurement before the failover). */
  readonly measuredAtMs?: number;
}

/** How old a consumer group's checkpoints were when a failover resumed the group from them. */
export interface GroupCheckpointAge {
  readonly flow: string;
  readonly group: string;
  /** Partitions with a checkpoint. */
  readonly partitions: number;
  /** Age of the oldest partition checkpoint; undefined when the group had none. */
  readonly oldestAgeMs?: number;
}

/** Records of the returning region that never reached the region that was active. */
export interface DivergedRange {
  readonly flow: string;
  readonly sourceTopic: string;
  readonly partition: number;
  /** Decimal strings: [startOffset, endOffset). */
  readonly startOffset: string;
  readonly endOffset: string;
  /** Decimal string: records in the range (gaps of compaction or transactions not counted). */
  readonly records: string;
  /** Side topic in the other region the range was copied into, when it was. */
  readonly copiedToTopic?: string;
}

/** A drill's reading of one region's passive protection (ACLs on its replicated topics). */
export interface PassiveProtectionReport {
  readonly region: string;
  readonly cluster: string;
  /** The region passive now (the target); false: the one the transition would make passive. */
  readonly passiveNow: boolean;
  /** Whether the cluster has an authorizer; false when not read (`error`). */
  readonly authorizer: boolean;
  readonly protectedTopics: readonly string[];
  readonly unprotectedTopics: readonly string[];
  /** Why it was not read. */
  readonly error?: string;
}

/** What a finished transition found, as `finish` is given it and its record keeps it. */
export interface TransitionFindings {
  /** Time with no region accepting writes (expected, for a drill). */
  readonly rtoMs?: number;
  readonly recordsAtRisk?: readonly PartitionRisk[];
  readonly checkpointAges?: readonly GroupCheckpointAge[];
  readonly diverged?: readonly DivergedRange[];
  readonly error?: string;
}

/** A transition (or drill), running or finished. */
export interface TransitionRecord extends TransitionFindings {
  readonly id: string;
  readonly flowGroup: string;
  readonly kind: TransitionKind;
  readonly fromRegion: string;
  readonly toRegion: string;
  readonly actor: string;
  readonly reason: string;
  readonly startTimeMs: number;
  readonly endTimeMs?: number;
  readonly dryRun: boolean;
  readonly outcome: TransitionOutcome;
  readonly epochBefore: Epoch;
  readonly epochAfter: Epoch;
  readonly steps: readonly StepRecord[];
  /** Decimal string: records written to the old region and not replicated. */
  readonly rpoRecords?: string;
  /** Drills only. */
  readonly passiveProtection?: readonly PassiveProtectionReport[];
}

/** The lock of a transition in progress, kept inside the state. */
export interface TransitionLock extends TransitionRecord {
  /** Redis time after which the lock is abandoned unless renewed by a step. */
  readonly expiresAtMs: number;
  /** Phase to return to when the transition ends without moving the active region. */
  readonly phaseBefore: RegionPhase;
}

/** Which region is active for a flow group. */
export interface RegionState {
  readonly flowGroup: string;
  readonly activeRegion: string;
  /** Incremented by every move of the active region. */
  readonly epoch: Epoch;
  readonly phase: RegionPhase;
  /** Empty when never moved. */
  readonly previousActiveRegion: string;
  readonly updateTimeMs: number;
  readonly updatedBy: string;
  readonly reason: string;
  /** Incremented by every change a watcher sees; orders changes within an epoch. */
  readonly revision: number;
  /** The transition in progress, if any. */
  readonly transition?: TransitionLock;
  /** The last finished transition (not drills). */
  readonly lastTransition?: TransitionRecord;
}

/** Whether `a` is a later version of a group's state than `b`. */
export function isNewer(a: RegionState, b: RegionState | undefined): boolean {
  if (b === undefined) return true;
  return a.epoch > b.epoch || (a.epoch === b.epoch && a.revision > b.revision);
}

/**
 * A state or a record as the scripts and the region topics keep it: JSON, epochs as numbers
 * (the scripts compare and increment them). The one way states and records are written.
 */
export function regionJson(value: RegionState | TransitionRecord | object): string {
  return JSON.stringify(value, (key, v) =>
    typeof v === "bigint" ? epochToScriptNumber(v as Epoch, key) : v,
  );
}

// Lua's cjson writes an empty array as {}; everything read back goes through here, and so do
// its epochs.
export function normalizeState(raw: unknown): RegionState {
  const state = raw as RegionState & { transition?: unknown; lastTransition?: unknown };
  return {
    ...state,
    epoch: epochFromScript(state.epoch, "region state epoch"),
    ...(state.transition
      ? { transition: normalizeRecord(state.transition) as TransitionLock }
      : {}),
    ...(state.lastTransition ? { lastTransition: normalizeRecord(state.lastTransition) } : {}),
  };
}

export function normalizeRecord(raw: unknown): TransitionRecord {
  const record = raw as TransitionRecord;
  const list = <T>(items: readonly T[] | undefined) =>
    items === undefined ? undefined : Array.isArray(items) ? items : [];
  const recordsAtRisk = list(record.recordsAtRisk);
  const checkpointAges = list(record.checkpointAges);
  const diverged = list(record.diverged);
  const passiveProtection = list(record.passiveProtection)?.map((report) => ({
    ...report,
    protectedTopics: list(report.protectedTopics) ?? [],
    unprotectedTopics: list(report.unprotectedTopics) ?? [],
  }));
  return {
    ...record,
    epochBefore: epochFromScript(record.epochBefore, "transition epochBefore"),
    epochAfter: epochFromScript(record.epochAfter, "transition epochAfter"),
    steps: Array.isArray(record.steps) ? record.steps : [],
    ...(recordsAtRisk === undefined ? {} : { recordsAtRisk }),
    ...(checkpointAges === undefined ? {} : { checkpointAges }),
    ...(diverged === undefined ? {} : { diverged }),
    ...(passiveProtection === undefined ? {} : { passiveProtection }),
  };
}
