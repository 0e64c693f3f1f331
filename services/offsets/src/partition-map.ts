import { asOffset, type Epoch, type Offset } from "@geo/positions";
import type { OffsetMapSegment } from "@geo/progress";

/**
 * One resolved run of a partition's map: source offsets `sourceStart .. sourceStart+count-1`
 * are target offsets `targetStart .. targetStart+count-1`. `epoch` and `origin` (the
 * `sourceStart` of the segment record it came from) rank it against later segments. Plain
 * numbers, not bigints: a million runs of bigints keep the garbage collector busy for seconds
 * during a rebuild, and offsets stay far below 2^53 (a million records a second for 285 years).
 */
export interface MappedRun {
  sourceStart: number;
  targetStart: number;
  count: number;
  epoch: number;
  origin: number;
}

/** Where a source position lands, before the service turns it into a protobuf answer. */
export type PartitionAnswer =
  | { kind: "exact"; targetOffset: Offset }
  | { kind: "end"; targetOffset: Offset }
  | { kind: "below"; targetOffset: Offset; floor: Offset }
  /** Between the retention floor and the first mapped record: a gap when the flow copied from the log start. */
  | { kind: "leading-gap"; targetOffset: Offset; firstMapped: Offset }
  /** `notReplicated` is a count of offsets. */
  | { kind: "ahead"; targetOffset: Offset; notReplicated: bigint; replicatedTo: Offset }
  | { kind: "empty" };

/** Where a position on the remote copy goes home to in the source (see `PartitionMap.toOrigin`). */
export type OriginAnswer =
  | { kind: "exact"; sourceOffset: Offset }
  | { kind: "end"; sourceOffset: Offset }
  | { kind: "empty" };

/**
 * The source→target offset map of one replicated partition, resolved: non-overlapping runs
 * sorted by source offset, where each source offset keeps the newest copy of its record (the
 * rule of `translateOffset` in @geo/progress: highest epoch, then the latest segment start
 * within an epoch). Adjacent runs that continue each other on both sides merge, and runs
 * below the source's log start are pruned, so memory follows the number of gaps in the
 * source's retained log, not the number of segment records ever written.
 */
export class PartitionMap {
  readonly runs: MappedRun[] = [];
  /** Source offsets below this are gone from the source (retention): answers there are BELOW_RANGE. */
  private floorOffset = 0;
  /** The first source offset the owner has not copied yet (highest-epoch progress); -1 when unknown. */
  private replicatedTo = -1;
  private progressEpoch = -1;
  remoteTopic = "";

  /** Overlays a segment record (a rewrite of a growing run is applied again, idempotently). */
  addSegment(segment: OffsetMapSegment): void {
    if (segment.remoteTopic !== this.remoteTopic && segment.remoteTopic !== "") {
      this.remoteTopic = segment.remoteTopic;
    }
    const origin = Number(segment.sourceStart);
    let sourceStart = origin;
    let count = Number(segment.count);
    if (sourceStart + count <= this.floorOffset) return;
    if (sourceStart < this.floorOffset) {
      const cut = this.floorOffset - sourceStart;
      sourceStart += cut;
      count -= cut;
    }
    const incoming: MappedRun = {
      sourceStart,
      targetStart: Number(segment.targetStart) + (sourceStart - origin),
      count,
      epoch: Number(segment.epoch),
      origin,
    };
    this.overlay(incoming);
  }

  /** The highest-epoch progress of the partition says how far its owner copied. */
  addProgress(epochBig: Epoch, nextSourceOffsetBig: Offset): void {
    const epoch = Number(epochBig);
    const nextSourceOffset = Number(nextSourceOffsetBig);
    if (epoch < this.progressEpoch) return;
    if (epoch > this.progressEpoch || nextSourceOffset > this.replicatedTo) {
      this.replicatedTo = nextSourceOffset;
    }
    this.progressEpoch = epoch;
  }

  /** Drops what lies below `floor` (source retention removed it); never lowers the floor. */
  prune(floorBig: Offset): void {
    const floor = Number(floorBig);
    if (floor <= this.floorOffset) return;
    this.floorOffset = floor;
    let drop = 0;
    while (drop < this.runs.length) {
      const r = this.runs[drop]!;
      if (r.sourceStart + r.count <= floor) {
        drop++;
        continue;
      }
      if (r.sourceStart < floor) {
        const cut = floor - r.sourceStart;
        r.sourceStart += cut;
        r.targetStart += cut;
        r.count -= cut;
      }
      break;
    }
    if (drop > 0) this.runs.splice(0, drop);
  }

  /**
   * Where a group whose next source offset is `offset` resumes in the target:
   * covered → the copy of that record; in a gap → the next mapped record; at or past the end
   * of what the owner copied → the target's replicated end.
   */
  translate(offsetBig: Offset): PartitionAnswer {
    const offset = Number(offsetBig);
    const runs = this.runs;
    if (runs.length === 0) return { kind: "empty" };
    const first = runs[0]!;
    if (offset < this.floorOffset) {
      return {
        kind: "below",
        targetOffset: back(first.targetStart),
        floor: back(this.floorOffset),
      };
    }
    if (offset < first.sourceStart) {
      return {
        kind: "leading-gap",
        targetOffset: back(first.targetStart),
        firstMapped: back(first.sourceStart),
      };
    }
    const i = this.lastStartingAtOrBefore(offset);
    if (i >= 0) {
      const r = runs[i]!;
      if (offset < r.sourceStart + r.count) {
        return { kind: "exact", targetOffset: back(r.targetStart + (offset - r.sourceStart)) };
      }
    }
    const next = runs[i + 1];
    if (next !== undefined) return { kind: "exact", targetOffset: back(next.targetStart) };
    const last = runs[runs.length - 1]!;
    const end = last.sourceStart + last.count;
    const targetEnd = back(last.targetStart + last.count);
    const copiedTo = Math.max(this.replicatedTo, end);
    if (offset <= copiedTo) return { kind: "end", targetOffset: targetEnd };
    return {
      kind: "ahead",
      targetOffset: targetEnd,
      notReplicated: BigInt(offset - copiedTo),
      replicatedTo: back(copiedTo),
    };
  }

  /**
   * The reverse of `translate`, for failback: where a group whose next offset on the remote copy
   * is `targetOffset` resumes on the origin topic. Inside a run → that record's source offset;
   * in a gap (a target record outside the map: a copy an older epoch wrote twice) → the first
   * source record whose copy lies at or after it; past every copy → the end of what the owner
   * copied. Runs are sorted by source offset, and after takeovers and overlays their target
   * offsets usually grow with them, but a zombie owner of an older epoch can leave a run whose
   * copy lies before a newer one's: so this takes the lowest source offset whose copy the group
   * has not read, over all runs (one scan, done once per partition and transition), and never
   * skips a record the group did not read.
   */
  toOrigin(targetOffsetBig: Offset): OriginAnswer {
    const t = Number(targetOffsetBig);
    const runs = this.runs;
    if (runs.length === 0) return { kind: "empty" };
    let lowest = Number.POSITIVE_INFINITY;
    for (const r of runs) {
      if (r.sourceStart >= lowest) break;
      const targetEnd = r.targetStart + r.count;
      if (t >= targetEnd) continue;
      lowest = r.sourceStart + Math.max(0, t - r.targetStart);
    }
    if (lowest !== Number.POSITIVE_INFINITY) return { kind: "exact", sourceOffset: back(lowest) };
    const last = runs[runs.length - 1]!;
    const copiedTo = Math.max(this.replicatedTo, last.sourceStart + last.count);
    return { kind: "end", sourceOffset: back(copiedTo) };
  }

  /** Index of the last run with sourceStart <= offset; -1 when none. */
  private lastStartingAtOrBefore(offset: number): number {
    let lo = 0;
    let hi = this.runs.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.runs[mid]!.sourceStart <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  private overlay(incoming: MappedRun): void {
    const runs = this.runs;
    const end = incoming.sourceStart + incoming.count;
    // Fast path: appending at or past the end (the steady state of a growing run).
    const last = runs[runs.length - 1];
    if (last === undefined || last.sourceStart + last.count <= incoming.sourceStart) {
      runs.push(incoming);
      this.mergeAround(runs.length - 1);
      return;
    }
    let from = this.lastStartingAtOrBefore(incoming.sourceStart);
    if (from < 0 || runs[from]!.sourceStart + runs[from]!.count <= incoming.sourceStart) from++;
    let to = from;
    while (to < runs.length && runs[to]!.sourceStart < end) to++;
    const result: MappedRun[] = [];
    let cursor = incoming.sourceStart;
    let tail: MappedRun | undefined;
    for (const old of runs.slice(from, to)) {
      const oldEnd = old.sourceStart + old.count;
      if (outranks(old, incoming)) {
        if (old.sourceStart > cursor) result.push(piece(incoming, cursor, old.sourceStart));
        result.push(old);
        if (oldEnd > cursor) cursor = oldEnd;
        continue;
      }
      if (old.sourceStart < incoming.sourceStart) {
        result.push(piece(old, old.sourceStart, incoming.sourceStart));
      }
      if (oldEnd > end) tail = piece(old, end, oldEnd);
    }
    if (cursor < end) result.push(piece(incoming, cursor, end));
    if (tail !== undefined) result.push(tail);
    runs.splice(from, to - from, ...result);
    const lo = Math.max(0, from - 1);
    for (let k = Math.min(runs.length - 1, from + result.length); k >= lo; k--) {
      this.mergeAround(k);
    }
  }

  /** Merges run `i` into run `i-1` when they continue each other on both sides in one epoch. */
  private mergeAround(i: number): void {
    if (i <= 0 || i >= this.runs.length) return;
    const prev = this.runs[i - 1]!;
    const cur = this.runs[i]!;
    if (
      prev.epoch === cur.epoch &&
      prev.sourceStart + prev.count === cur.sourceStart &&
      prev.targetStart + prev.count === cur.targetStart
    ) {
      prev.count += cur.count;
      if (cur.origin > prev.origin) prev.origin = cur.origin;
      this.runs.splice(i, 1);
    }
  }
}

/**
 * Whether an existing run keeps its offsets against an incoming segment: a higher epoch, or the
 * same epoch and a later segment start. Equal rank: the later record wins (a rewrite).
 */
function outranks(old: MappedRun, incoming: MappedRun): boolean {
  if (old.epoch !== incoming.epoch) return old.epoch > incoming.epoch;
  return old.origin > incoming.origin;
}

/** An offset of a run back from its compact number form (it came from a valid offset). */
function back(offset: number): Offset {
  return asOffset(BigInt(offset));
}

/** The part `from .. to-1` of `run`. */
function piece(run: MappedRun, from: number, to: number): MappedRun {
  return {
    sourceStart: from,
    targetStart: run.targetStart + (from - run.sourceStart),
    count: to - from,
    epoch: run.epoch,
    origin: run.origin,
  };
}
