import { asOffset, type Epoch } from "@geo/positions";
import type { ProgressTombstone, SegmentKey, UnitKey } from "@geo/progress";
import type { Checkpointable, Checkpointer, CheckpointSnapshot } from "./checkpointer";
import type { OffsetRuns } from "./offset-runs";
import type { UnitFence } from "./unit-fence";

/** The acknowledged position a checkpoint records. */
export interface AckedPosition {
  /** Next source offset to copy; -1n before the unit started. */
  readonly ackedNext: bigint;
  readonly lastTargetOffset: bigint;
}

/**
 * What of one unit is written to the target's progress and offset-map topics: its acknowledged
 * position under its epoch, its offset-map runs, and the tombstones of older epochs' progress
 * and of cleaned-up segments. Nothing is written once the lease is not trusted.
 */
export class UnitCheckpoint implements Checkpointable {
  /** What the last successful progress write recorded; -1n before the first. */
  persistedNext = -1n;
  private persistedTarget = -2n;
  private progressTombstones: ProgressTombstone[] = [];
  private segmentTombstones: SegmentKey[] = [];
  private checkpointer: Checkpointer | null = null;

  constructor(
    readonly id: string,
    private readonly key: UnitKey,
    private readonly epoch: Epoch,
    private readonly agentId: string,
    private readonly position: AckedPosition,
    private readonly runs: OffsetRuns,
    private readonly fence: UnitFence,
  ) {}

  /** Written from now on by `checkpointer`. */
  attach(checkpointer: Checkpointer): void {
    this.checkpointer = checkpointer;
  }

  /** Older epochs' progress records, tombstoned once this epoch's own record is written. */
  tombstoneProgress(tombstones: ProgressTombstone[]): void {
    this.progressTombstones = tombstones;
  }

  /** Tombstone these segments with the next checkpoint. */
  tombstoneSegments(keys: readonly SegmentKey[]): void {
    if (keys.length === 0) return;
    this.segmentTombstones.push(...keys);
    this.markDirty();
  }

  /** Something acknowledged changed: written with the next coalesced flush. */
  markDirty(): void {
    this.checkpointer?.markDirty(this);
  }

  /** Writes now; false when that failed until `deadline` (performance.now()). */
  flush(deadline: number): Promise<boolean> {
    return this.checkpointer?.flushUnit(this, deadline) ?? Promise.resolve(true);
  }

  /** Nothing more is written. */
  forget(): void {
    this.checkpointer?.forget(this);
  }

  get needsPersist(): boolean {
    const { ackedNext, lastTargetOffset } = this.position;
    if (this.fence.leaseLost || ackedNext < 0n) return false;
    return (
      this.persistedNext !== ackedNext ||
      this.persistedTarget !== lastTargetOffset ||
      this.runs.hasDirty ||
      this.progressTombstones.length > 0 ||
      this.segmentTombstones.length > 0
    );
  }

  snapshot(): CheckpointSnapshot | null {
    const { ackedNext, lastTargetOffset } = this.position;
    if (this.fence.leaseLost || ackedNext < 0n) return null;
    if (!this.fence.check()) return null;
    const changed = this.persistedNext !== ackedNext || this.persistedTarget !== lastTargetOffset;
    const s: CheckpointSnapshot = {
      progress: changed
        ? {
            ...this.key,
            epoch: this.epoch,
            // Acknowledged positions (ackedNext is not -1 here; lastTargetOffset may be NO_OFFSET).
            nextSourceOffset: asOffset(ackedNext),
            lastTargetOffset: asOffset(lastTargetOffset),
            agentId: this.agentId,
            time: Date.now(),
          }
        : null,
      segments: this.runs.take(),
      segmentTombstones: this.segmentTombstones,
      // Only once our own record is written (in this very batch, before them).
      progressTombstones: changed || this.persistedNext >= 0n ? this.progressTombstones : [],
    };
    this.segmentTombstones = [];
    this.progressTombstones = this.progressTombstones.filter(
      (t) => !s.progressTombstones.includes(t),
    );
    return s;
  }

  persisted(s: CheckpointSnapshot): void {
    if (s.progress !== null) {
      this.persistedNext = s.progress.nextSourceOffset;
      this.persistedTarget = s.progress.lastTargetOffset;
    }
  }

  restore(s: CheckpointSnapshot): void {
    this.runs.restore(s.segments);
    this.segmentTombstones.push(...s.segmentTombstones);
    this.progressTombstones.push(...s.progressTombstones);
  }
}
