import { asOffset, type Epoch } from "@geo/positions";
import type { OffsetMapSegment, UnitKey } from "@geo/progress";

interface Run {
  sourceStart: bigint;
  targetStart: bigint;
  count: bigint;
}

/**
 * Builds a unit's offset-map segments from acknowledged writes: each piece (source offsets
 * `s .. s+n-1` landed at target offsets `t .. t+n-1`) extends the open run when it continues it
 * on both sides, and starts a new run otherwise (a gap in source offsets: compaction,
 * transaction markers, aborted or loop-skipped records; or in target offsets: another writer, a
 * re-sent batch). Runs touched since the last `take` are written again with their new count
 * (same key: unit, epoch, sourceStart), so the topic holds one record per run after compaction.
 */
export class OffsetRuns {
  private current: Run | null = null;
  private dirty = new Map<bigint, Run>();

  constructor(
    private readonly unit: UnitKey,
    private readonly epoch: Epoch,
    private readonly remoteTopic: string,
    private readonly agentId: string,
  ) {}

  add(sourceStart: bigint, targetStart: bigint, count: bigint): void {
    if (count <= 0n) return;
    const c = this.current;
    if (
      c !== null &&
      c.sourceStart + c.count === sourceStart &&
      c.targetStart + c.count === targetStart
    ) {
      c.count += count;
    } else {
      this.current = { sourceStart, targetStart, count };
    }
    this.dirty.set(this.current!.sourceStart, this.current!);
  }

  /** Records of a batch acknowledged at `targetBase`, from its source runs. */
  addBatch(sourceRuns: ReadonlyArray<readonly [bigint, number]>, targetBase: bigint): void {
    let t = targetBase;
    for (const [s, n] of sourceRuns) {
      this.add(s, t, BigInt(n));
      t += BigInt(n);
    }
  }

  /** Close the open run: the next piece starts a new one whatever it continues. */
  breakRun(): void {
    this.current = null;
  }

  /** Whether `sourceStart` is the open run (never tombstoned: it may still grow). */
  isOpen(sourceStart: bigint): boolean {
    return this.current !== null && this.current.sourceStart === sourceStart;
  }

  get hasDirty(): boolean {
    return this.dirty.size > 0;
  }

  /** Segments changed since the last call, as they are now. */
  take(): OffsetMapSegment[] {
    const time = Date.now();
    const out = [...this.dirty.values()].map((r) => ({
      unit: this.unit,
      epoch: this.epoch,
      remoteTopic: this.remoteTopic,
      // Built from acknowledged offsets only.
      sourceStart: asOffset(r.sourceStart),
      targetStart: asOffset(r.targetStart),
      count: r.count,
      agentId: this.agentId,
      time,
    }));
    this.dirty.clear();
    return out;
  }

  /** Give back segments a failed write did not persist (unless newer versions are pending). */
  restore(segments: readonly OffsetMapSegment[]): void {
    for (const s of segments) {
      if (this.dirty.has(s.sourceStart)) continue;
      const c = this.current;
      this.dirty.set(
        s.sourceStart,
        c !== null && c.sourceStart === s.sourceStart
          ? c
          : { sourceStart: s.sourceStart, targetStart: s.targetStart, count: s.count },
      );
    }
  }
}
