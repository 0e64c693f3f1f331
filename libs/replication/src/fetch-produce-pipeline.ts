import { type Backoff, createBackoff } from "@geo/backoff";
import {
  type FetchPosition,
  type IdempotentProducer,
  KafkaWireError,
  type PartitionFetchResult,
  RecordRejectedError,
  WireClosedError,
} from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import { type AckItem, AckQueue } from "./ack-queue";
import type { SampledBatch } from "./batch-traces";
import { batchErrorAction, type FetchErrorAction, fetchErrorAction } from "./fetch-errors";
import type { OffsetRuns } from "./offset-runs";
import type { Fetchable, SourceReader } from "./source-reader";
import {
  type PlannedBatch,
  planBatch,
  type TransformContext,
  transformContextFor,
} from "./transform";
import type { UnitAssignment, UnitState } from "./types";
import type { AckedPosition } from "./unit-checkpoint";
import type { UnitContext } from "./unit-context";
import type { UnitFence } from "./unit-fence";
import type { UnitLag, UnitMeters } from "./unit-meters";

const MAX_PARTITION_BYTES = 64 * 1024 * 1024;

/** What the pipeline needs of the unit that runs it (its state machine). */
export interface PipelineHost {
  readonly state: UnitState;
  readonly isActive: boolean;
  readonly isStopping: boolean;
  /** Why the unit is where it is (status). */
  reason: string;
  /** Stop the unit with state error. */
  fail(reason: string, code: string): void;
  /** The acknowledged position moved: a checkpoint is due. */
  onAdvanced(): void;
}

/**
 * A unit's data path: the source reader asks it where to fetch from and hands it what it read;
 * it turns each source batch into target batches (transform), sends them through the idempotent
 * producer, and advances `ackedNext` strictly in source order as the target acknowledges. A
 * failed produce rewinds to the last acknowledged position; fetch errors back off, fail the unit,
 * or jump (out of range, by the flow's policy: fetch-errors.ts).
 *
 * One class, a little over 400 lines, on purpose: the fetch half and the produce half share the
 * position (fetchNext, ackedNext) and the generation that a rewind bumps, and the order in which
 * they move is the "nothing acknowledged is lost" invariant; the parts with state of their own
 * (ack queue, fence, meters, checkpoint) are in their own files.
 */
export class FetchProducePipeline implements Fetchable, AckedPosition {
  readonly topic: string;
  readonly partition: number;
  /** A token that changes when the position restarts: older results and acknowledgements are dropped. */
  gen = 0;
  fetching = false;
  backoffUntil = 0;
  fetchNext = -1n;
  ackedNext = -1n;
  lastTargetOffset = -1n;
  highWatermark = -1n;
  logStartOffset = -1n;
  offsetResets = 0;
  skippedRecords = 0;
  private maxBytes: number;
  /** Retries of fetches and offset lookups (the shared jittered policy); reset by a good fetch. */
  private readonly retries: Backoff;
  private readonly queue: AckQueue;
  private readonly transform: TransformContext;
  private reader: SourceReader | null = null;
  private producer: IdempotentProducer | null = null;

  constructor(
    private readonly assignment: UnitAssignment,
    private readonly ctx: UnitContext,
    private readonly host: PipelineHost,
    private readonly fence: UnitFence,
    private readonly meters: UnitMeters,
    private readonly runs: OffsetRuns,
    private readonly log: Logger,
  ) {
    this.topic = assignment.unit.sourceTopic;
    this.partition = assignment.unit.partition;
    this.maxBytes = ctx.partitionMaxBytes;
    this.retries = createBackoff({
      initialMs: Math.max(1, ctx.retryBackoffMs),
      maxMs: Math.max(1, ctx.retryBackoffMs, ctx.maxRetryBackoffMs),
    });
    this.queue = new AckQueue(ctx.addBuffered);
    this.transform = transformContextFor(assignment.flow, ctx.maxReencodedBatchBytes);
  }

  private get remoteTopic(): string {
    return this.assignment.remoteTopic;
  }

  /** Reads and writes through these. */
  attach(reader: SourceReader, producer: IdempotentProducer): void {
    this.reader = reader;
    this.producer = producer;
  }

  /** Reading starts at `position` (once added to the reader). */
  startAt(position: bigint): void {
    this.fetchNext = position;
    this.ackedNext = position;
  }

  /** Reading (again, after a pause or with the reader) from where it is. */
  addToReader(): void {
    this.reader?.add(this);
  }

  removeFromReader(): void {
    this.reader?.remove(this);
  }

  /** Fetching (again, after a pause). */
  schedule(): void {
    this.reader?.schedule();
  }

  // ---- fetching ----

  fetchReadiness(now: number): "ready" | "throttled" | "idle" {
    if (this.host.state !== "running" || this.host.isStopping || now < this.backoffUntil) {
      return "idle";
    }
    if (this.queue.buffered >= this.ctx.maxUnitBufferedBytes || !this.ctx.engineBudgetLeft()) {
      return "throttled";
    }
    return "ready";
  }

  position(): FetchPosition {
    return {
      topic: this.topic,
      partition: this.partition,
      offset: this.fetchNext,
      maxBytes: this.maxBytes,
    };
  }

  onFetchResult(r: PartitionFetchResult, gen: number): void {
    if (gen !== this.gen || this.host.isStopping || !this.host.isActive) return;
    // A fetch sent before the position moved back without a new generation (a rewind moves it
    // once the producer partition has reset) must not be applied from the new position: the
    // records in between would be skipped.
    if (r.fetchOffset !== this.fetchNext) return;
    // A long poll sent before the flow was paused can answer after it: drop what it read, the
    // position stays, and the same records are fetched again on resume.
    if (this.host.state === "paused") return;
    if (r.error !== null) {
      const flow = this.assignment.flow;
      this.act(fetchErrorAction(r.error, flow.onOffsetOutOfRange, this.topic, this.partition));
      return;
    }
    this.retries.reset();
    this.observeBounds(r);
    let position = this.fetchNext;
    const now = Date.now();
    for (const batch of r.batches) {
      const next = this.forwardSourceBatch(batch, position, now);
      if (next === undefined) return;
      position = next;
    }
    // Past control records, aborted transactions, compacted-away tails.
    if (r.nextOffset > position) this.pushNoop(r.nextOffset, false);
    if (r.nextOffset > this.fetchNext) this.fetchNext = r.nextOffset;
    this.updateLagGauges();
  }

  /** The log's bounds and how much to ask for next. */
  private observeBounds(r: PartitionFetchResult): void {
    if (r.highWatermark >= 0n) {
      this.highWatermark = r.highWatermark;
      this.meters.observeSourceEnd(r.highWatermark);
    }
    if (r.logStartOffset >= 0n) this.logStartOffset = r.logStartOffset;
    if (r.incomplete) {
      // A batch larger than what we asked for: ask for more (partitions also rotate).
      this.maxBytes = Math.min(MAX_PARTITION_BYTES, this.maxBytes * 2);
    } else if (r.batches.length > 0) {
      this.maxBytes = this.ctx.partitionMaxBytes;
    }
  }

  /**
   * Plans one source batch from `position` and sends what it becomes; the position after it, or
   * undefined when the unit must stop reading this result (a bad batch, the lease gone).
   */
  private forwardSourceBatch(
    batch: PartitionFetchResult["batches"][number],
    position: bigint,
    now: number,
  ): bigint | undefined {
    let plan: ReturnType<typeof planBatch>;
    try {
      plan = planBatch(batch, position, this.transform);
    } catch (e) {
      this.act(batchErrorAction(e));
      return undefined;
    }
    if (plan.skipped > 0) {
      this.skippedRecords += plan.skipped;
      this.ctx.metrics.skipped.inc(this.meters.labels, plan.skipped);
    }
    for (const pb of plan.batches) {
      // Fencing: never send once the lease may be gone.
      if (!this.fence.check()) return undefined;
      this.ctx.metrics.ageAtRead.observe(
        this.meters.labels,
        Math.max(0, now - Number(pb.maxTimestamp)) / 1000,
      );
      const sampled = this.ctx.batchTraces?.sample({
        topic: this.topic,
        partition: this.partition,
        firstOffset: pb.sourceRuns[0]?.[0] ?? pb.sourceNext,
        nextOffset: pb.sourceNext,
        records: pb.recordCount,
        bytes: pb.bytes,
      });
      this.sendBatch(this.producer!, pb, sampled);
    }
    if (plan.batches.length === 0) this.pushNoop(plan.sourceNext, false);
    return plan.sourceNext;
  }

  /** Backs off, stops the unit, or jumps (see fetchErrorAction). */
  private act(action: FetchErrorAction): void {
    if (action.kind === "backoff") {
      this.backoff(action.reason);
      return;
    }
    if (action.kind === "fail") {
      this.host.fail(action.reason, action.code);
      return;
    }
    this.offsetResets++;
    this.ctx.metrics.offsetResets.inc({ ...this.meters.labels, policy: action.policy });
    this.host.reason = action.reason;
    this.log.warn(
      { from: String(action.from), to: String(action.to), policy: action.policy },
      "replication: source position out of range; jumping",
    );
    this.fetchNext = action.to;
    this.pushNoop(action.to, true);
    this.reader?.schedule();
  }

  private backoff(reason: string): void {
    const backoffMs = this.retries.next();
    this.backoffUntil = performance.now() + backoffMs;
    this.host.reason = reason;
    this.log.debug({ reason, backoffMs }, "replication: retrying");
  }

  // ---- producing ----

  private sendBatch(
    producer: IdempotentProducer,
    pb: PlannedBatch,
    sampled: SampledBatch | undefined,
  ): void {
    const item = this.queue.pushBatch(this.gen, pb);
    const traced = sampled?.startWrite(this.remoteTopic, this.partition);
    producer.send(this.remoteTopic, this.partition, pb.input, this.fence.produceOptions).then(
      (res) => {
        traced?.end({ baseOffset: res.baseOffset });
        item.settled = true;
        item.result = res;
        this.drainAcks();
      },
      (e: unknown) => {
        traced?.end({ error: e });
        item.settled = true;
        item.error = e;
        this.drainAcks();
      },
    );
  }

  private pushNoop(sourceNext: bigint, breakRun: boolean): void {
    if (this.queue.pushNoop(this.gen, sourceNext, breakRun)) {
      queueMicrotask(() => this.drainAcks());
    }
  }

  /** Applies settled items at the head of the queue, in source order. */
  private drainAcks(): void {
    let advanced = false;
    for (let item = this.queue.shiftSettled(); item !== undefined; ) {
      if (item.gen === this.gen) {
        if (item.error !== null) {
          this.onProduceError(item.error);
          break;
        }
        this.apply(item);
        advanced = true;
      }
      item = this.queue.shiftSettled();
    }
    if (advanced) {
      this.host.onAdvanced();
      this.updateLagGauges();
    }
    this.queue.notifyIfEmpty();
    this.reader?.schedule();
  }

  private apply(item: AckItem): void {
    const pb = item.plan;
    if (pb !== null && item.result !== null) {
      const res = item.result;
      this.runs.addBatch(pb.sourceRuns, res.baseOffset);
      this.lastTargetOffset = res.lastOffset;
      this.meters.acknowledged(pb);
    }
    if (item.breakRun) this.runs.breakRun();
    this.ackedNext = item.sourceNext;
  }

  private onProduceError(e: unknown): void {
    if (e instanceof WireClosedError) {
      // The engine is closing under us: nothing more will be acknowledged.
      this.invalidate();
      return;
    }
    if (e instanceof RecordRejectedError) {
      this.host.fail(`the target refused a batch: ${e.message}`, e.reason);
      return;
    }
    const retriable = e instanceof KafkaWireError ? e.retriable : false;
    if (!retriable) {
      this.host.fail(
        `producing to the target: ${(e as Error)?.message ?? String(e)}`,
        "PRODUCE_FAILED",
      );
      return;
    }
    // With a lease the delivery deadline is the lease's: the producer gave up because the lease
    // can no longer be trusted. The unit stops as lease lost; its successor resumes from the
    // recorded progress. Rewinding here would only write again without a lease.
    if (!this.fence.check()) return;
    void this.rewind(e as KafkaWireError);
  }

  /**
   * The producer gave up on a batch while the lease still holds (no lease deadline given and
   * deliveryTimeoutMs passed, a graceful stop's deadline passed, the partition was reset): drop
   * what is in flight, restart the producer partition (a fresh producer id) and read again from
   * the last acknowledged position. Batches that did land are written again (duplicates, never
   * losses).
   */
  private async rewind(e: KafkaWireError): Promise<void> {
    const gen = this.invalidate();
    this.backoff(`retrying after: ${e.message}`);
    this.log.warn(
      { err: e.message },
      "replication: produce failed; resuming from the last acknowledged offset",
    );
    this.runs.breakRun();
    await this.producer?.resetPartition(this.remoteTopic, this.partition).catch(() => {});
    if (gen !== this.gen || !this.host.isActive) return;
    this.fetchNext = this.ackedNext;
    this.reader?.schedule();
  }

  /** Invalidate everything in flight: pending items are dropped, fetch results ignored. */
  invalidate(): number {
    this.gen++;
    this.queue.clear();
    return this.gen;
  }

  /** Resolves once every batch sent was acknowledged, failed or dropped. */
  drained(): Promise<void> {
    return this.queue.drained();
  }

  /** Drops the batches queued in the producer; those on the wire settle on their own. */
  resetProducer(): void {
    void this.producer?.resetPartition(this.remoteTopic, this.partition).catch(() => {});
  }

  // ---- lag ----

  lag(): UnitLag {
    return this.meters.lag(
      this.highWatermark,
      this.ackedNext,
      this.queue.headBatch()?.plan ?? undefined,
    );
  }

  /**
   * The source partition's end, read by the engine while this unit fetches no more (error): the
   * lag then counts every record from the recorded position on, not only those fetched before.
   */
  setSourceEnd(end: bigint): void {
    if (end <= this.highWatermark) return;
    this.highWatermark = end;
    this.updateLagGauges();
  }

  private updateLagGauges(): void {
    this.meters.setLagGauges(this.lag());
  }

  /** How long the oldest batch the target has not answered has waited (ms); undefined: none. */
  oldestUnansweredMs(): number | undefined {
    const head = this.queue.headBatch(true);
    return head === undefined ? undefined : performance.now() - head.sentAt;
  }
}
