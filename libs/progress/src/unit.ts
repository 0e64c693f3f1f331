import type { Epoch, Offset } from "@geo/positions";

/** One unit of replication work: a single source partition of a single flow. */
export interface UnitKey {
  flow: string;
  sourceTopic: string;
  partition: number;
}

/**
 * Stable string id of a unit: `${flow}/${sourceTopic}/${partition}`. Kafka topic names cannot
 * contain "/", so the id parses back from the right even when a flow name holds one.
 */
export function unitId(unit: UnitKey): string {
  return `${unit.flow}/${unit.sourceTopic}/${unit.partition}`;
}

/** The inverse of {@link unitId}. */
export function parseUnitId(id: string): UnitKey {
  const p = id.lastIndexOf("/");
  const t = p <= 0 ? -1 : id.lastIndexOf("/", p - 1);
  const partition = Number(id.slice(p + 1));
  if (t <= 0 || !Number.isInteger(partition) || partition < 0) {
    throw new TypeError(`not a unit id: ${JSON.stringify(id)}`);
  }
  return { flow: id.slice(0, t), sourceTopic: id.slice(t + 1, p), partition };
}

/** What a unit's owner records in the target cluster after the target acknowledged its writes. */
export interface UnitProgress extends UnitKey {
  /** The first source offset not yet copied (and acknowledged by the target). */
  nextSourceOffset: Offset;
  /** Fencing epoch the writer held the unit with. */
  epoch: Epoch;
  agentId: string;
  /** Offset in the remote partition of the last record the target acknowledged; NO_OFFSET when none. */
  lastTargetOffset: Offset;
  /** Wall-clock ms when written. */
  time: number;
}

/**
 * A contiguous run of the offset map: source offsets `sourceStart .. sourceStart + count - 1`
 * are target offsets `targetStart .. targetStart + count - 1` of `remoteTopic`, same partition.
 * A gap on either side (compaction, transaction markers, aborted or skipped records, other
 * writers in the target) starts a new run.
 */
export interface OffsetMapSegment {
  unit: UnitKey;
  epoch: Epoch;
  remoteTopic: string;
  sourceStart: Offset;
  targetStart: Offset;
  count: bigint;
  agentId: string;
  time: number;
}

/** Identifies one segment record (compaction key): unit, epoch and first source offset. */
export interface SegmentKey {
  unit: UnitKey;
  epoch: Epoch;
  sourceStart: Offset;
}
