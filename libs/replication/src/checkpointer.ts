import { type Backoff, createBackoff, sleep } from "@geo/backoff";
import type { Logger } from "@geo/logging";
import type {
  OffsetMapSegment,
  ProgressStore,
  ProgressTombstone,
  SegmentKey,
  UnitProgress,
} from "@geo/progress";

/** What one flush writes for a unit. */
export interface CheckpointSnapshot {
  progress: UnitProgress | null;
  segments: OffsetMapSegment[];
  segmentTombstones: SegmentKey[];
  progressTombstones: ProgressTombstone[];
}

export interface Checkpointable {
  readonly id: string;
  /** What to write now, or null when the unit must write nothing (lease lost, stopped). */
  snapshot(): CheckpointSnapshot | null;
  persisted(snapshot: CheckpointSnapshot): void;
  /** The write failed: take back what it carried. */
  restore(snapshot: CheckpointSnapshot): void;
  /** Whether anything acknowledged is not yet written. */
  readonly needsPersist: boolean;
}

/**
 * Writes the acknowledged positions and offset-map segments of every unit of one target
 * cluster, coalesced: at most one flush at a time, every `intervalMs` while something changed,
 * a unit's newest state only. Segments are written before the progress that covers them, so the
 * offset map never lacks records that progress says were copied.
 */
export class Checkpointer {
  private readonly dirty = new Set<Checkpointable>();
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly backoff: Backoff;
  private closed = false;

  constructor(
    private readonly store: ProgressStore,
    private readonly options: {
      intervalMs: number;
      maxBackoffMs: number;
      logger: Logger;
      onError: (e: unknown) => void;
    },
  ) {
    this.backoff = createBackoff({ initialMs: 100, maxMs: Math.max(100, options.maxBackoffMs) });
  }

  markDirty(u: Checkpointable): void {
    if (this.closed) return;
    this.dirty.add(u);
    this.schedule(this.options.intervalMs);
  }

  forget(u: Checkpointable): void {
    this.dirty.delete(u);
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
  }

  /** Runs one flush after the one under way. */
  flush(): Promise<void> {
    const run = this.chain.then(() => this.flushOnce());
    this.chain = run.catch(() => {});
    return this.chain;
  }

  /** Writes what `u` has acknowledged; false when that failed until `deadline` (performance.now()). */
  async flushUnit(u: Checkpointable, deadline: number): Promise<boolean> {
    const backoff = createBackoff({
      initialMs: 100,
      maxMs: Math.max(100, this.options.maxBackoffMs),
    });
    for (;;) {
      if (!u.needsPersist) return true;
      this.dirty.add(u);
      await this.flush();
      if (!u.needsPersist) return true;
      if (performance.now() >= deadline || this.closed) return false;
      await sleep(backoff.next());
    }
  }

  private async flushOnce(): Promise<void> {
    if (this.dirty.size === 0) return;
    const units = [...this.dirty];
    this.dirty.clear();
    const taken: { u: Checkpointable; s: CheckpointSnapshot }[] = [];
    for (const u of units) {
      const s = u.snapshot();
      if (s !== null) taken.push({ u, s });
    }
    if (taken.length === 0) return;
    const segments = taken.flatMap((t) => t.s.segments);
    const segmentTombstones = taken.flatMap((t) => t.s.segmentTombstones);
    const progress = taken.flatMap((t) => (t.s.progress === null ? [] : [t.s.progress]));
    const progressTombstones = taken.flatMap((t) => t.s.progressTombstones);
    try {
      if (segments.length > 0 || segmentTombstones.length > 0) {
        await this.store.writeSegments(segments, segmentTombstones);
      }
      if (progress.length > 0 || progressTombstones.length > 0) {
        await this.store.writeMany(progress, progressTombstones);
      }
      this.failures = 0;
      this.backoff.reset();
      for (const t of taken) t.u.persisted(t.s);
    } catch (e) {
      this.failures++;
      this.options.onError(e);
      this.options.logger.warn(
        { err: (e as Error).message, units: taken.length, failures: this.failures },
        "replication: writing progress failed; will retry",
      );
      for (const t of taken) {
        t.u.restore(t.s);
        this.dirty.add(t.u);
      }
      this.schedule(this.backoff.next());
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain;
  }
}
