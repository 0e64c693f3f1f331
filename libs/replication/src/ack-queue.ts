import type { ProduceResult } from "@geo/kafka-wire";
import type { PlannedBatch } from "./transform";

/** One step of a unit's source position: a batch sent to the target, or a jump over nothing to write. */
export interface AckItem {
  gen: number;
  plan: PlannedBatch | null;
  sourceNext: bigint;
  /** Start a new offset-map run after this item (a position jump). */
  breakRun: boolean;
  bytes: number;
  settled: boolean;
  /** When it was handed to the producer (monotonic ms); 0 for items that are not batches. */
  sentAt: number;
  result: ProduceResult | null;
  error: unknown;
}

/**
 * A unit's batches and position jumps in source order, as they wait for the target: the source
 * position only ever advances over the settled head, so acknowledgements that arrive out of order
 * are applied in order. Also accounts the bytes they hold against the unit's and the engine's
 * buffer budgets, and lets a stop wait until nothing is pending.
 */
export class AckQueue {
  private pending: AckItem[] = [];
  private bufferedBytes = 0;
  private drainWaiters: (() => void)[] = [];

  /** `addBuffered`: the engine-wide accounting, told every change of the bytes held here. */
  constructor(private readonly addBuffered: (bytes: number) => void) {}

  /** Bytes of the batches pending. */
  get buffered(): number {
    return this.bufferedBytes;
  }

  get length(): number {
    return this.pending.length;
  }

  /** A batch handed to the producer; `settle` it with the outcome. */
  pushBatch(gen: number, pb: PlannedBatch): AckItem {
    const item: AckItem = {
      gen,
      plan: pb,
      sourceNext: pb.sourceNext,
      breakRun: false,
      bytes: pb.bytes,
      settled: false,
      sentAt: performance.now(),
      result: null,
      error: null,
    };
    this.pending.push(item);
    this.bufferedBytes += pb.bytes;
    this.addBuffered(pb.bytes);
    return item;
  }

  /** A position move with nothing to write; returns whether it is the only item (nothing will settle it). */
  pushNoop(gen: number, sourceNext: bigint, breakRun: boolean): boolean {
    this.pending.push({
      gen,
      plan: null,
      sourceNext,
      breakRun,
      bytes: 0,
      settled: true,
      sentAt: 0,
      result: null,
      error: null,
    });
    return this.pending.length === 1;
  }

  /** The settled head, taken off the queue with its bytes released; undefined when the head waits. */
  shiftSettled(): AckItem | undefined {
    if (this.pending.length === 0 || !this.pending[0]!.settled) return undefined;
    const item = this.pending.shift()!;
    this.release(item.bytes);
    return item;
  }

  /** Wakes those waiting for an empty queue, when it is. */
  notifyIfEmpty(): void {
    if (this.pending.length === 0) this.wakeWaiters();
  }

  /** Drops everything pending; items still in the producer settle later, their bytes released here. */
  clear(): void {
    for (const item of this.pending) this.release(item.bytes);
    for (const item of this.pending) item.bytes = 0;
    this.pending = [];
    this.wakeWaiters();
  }

  /** Resolves once nothing is pending. */
  drained(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** The oldest pending batch (not a jump); `unsettled`: only one the target has not answered. */
  headBatch(unsettled = false): AckItem | undefined {
    return this.pending.find((i) => i.plan !== null && (!unsettled || !i.settled));
  }

  private release(bytes: number): void {
    if (bytes === 0) return;
    this.bufferedBytes -= bytes;
    this.addBuffered(-bytes);
  }

  private wakeWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}
