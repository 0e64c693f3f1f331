import { type Backoff, createBackoff } from "@geo/backoff";
import {
  type FetchPosition,
  type IdempotentProducer,
  KafkaWireError,
  OffsetOutOfRangeError,
  type PartitionFetchResult,
  type ProduceOptions,
  type ProduceResult,
  RecordRejectedError,
  WireClosedError,
} from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import {
  type ProgressTombstone,
  type SegmentKey,
  type UnitKey,
  type UnitProgress,
  unitId,
} from "@geo/progress";
import { RecordBatchError } from "@geo/record-batch";
import type { BatchTraces, SampledBatch } from "./batch-traces";
import type { Checkpointable, Checkpointer, CheckpointSnapshot } from "./checkpointer";
import type { EngineMetrics, UnitLabels } from "./engine-metrics";
import { OffsetRuns } from "./offset-runs";
import type { Fetchable, SourceReader } from "./source-reader";
import { type PlannedBatch, planBatch, type TransformContext } from "./transform";
import type { UnitAssignment, UnitState, UnitStatus } from "./types";
import { LatencySamples, RateWindow, SourceGrowth } from "./unit-stats";

/** What a unit uses of its engine. */
export interface UnitContext {
  agentId: string;
  logger: Logger;
  metrics: EngineMetrics;
  leaseGuard: (unit: UnitKey, epoch: bigint) => boolean;
  /** See ReplicationEngineOptions.onUnitStateChange. */
  onStateChange?: ((unit: UnitKey) => void) | undefined;
  /** See ReplicationEngineOptions.leaseDeadline; undefined: batches get deliveryTimeoutMs. */
  leaseDeadline?: ((unit: UnitKey, epoch: bigint) => number | undefined) | undefined;
  deliveryTimeoutMs: number;
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
  partitionMaxBytes: number;
  maxUnitBufferedBytes: number;
  maxReencodedBatchBytes: number;
  /** Engine-wide buffer accounting; false when the engine's budget is spent. */
  engineBudgetLeft: () => boolean;
  addBuffered: (bytes: number) => void;
  /** Spans for a sample of batches (ReplicationEngineOptions.traceBatchesOneIn). */
  batchTraces?: BatchTraces | undefined;
}

/** What the engine hands a unit to run with. */
export interface UnitWiring {
  reader: SourceReader;
  producer: IdempotentProducer;
  checkpointer: Checkpointer;
}

interface Item {
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

const MAX_PARTITION_BYTES = 64 * 1024 * 1024;

/**
 * One unit: reads its source partition from `fetchNext`, writes to the remote partition through
 * the engine's idempotent producer, and advances `ackedNext` strictly in source order as the
 * target acknowledges. Progress records only ever carry `ackedNext`.
 */
export class Unit implements Fetchable, Checkpointable {
  readonly id: string;
  readonly key: UnitKey;
  readonly epoch: bigint;
  readonly topic: string;
  readonly partition: number;
  private currentState: UnitState = "pending";
  reason = "starting";
  gen = 0;
  fetching = false;
  backoffUntil = 0;
  fetchNext = -1n;
  ackedNext = -1n;
  /** What the last successful progress write recorded; -1n before the first. */
  persistedNext = -1n;
  private persistedTarget = -2n;
  lastTargetOffset = -1n;
  highWatermark = -1n;
  logStartOffset = -1n;
  offsetResets = 0;
  skippedRecords = 0;
  /** See UnitStatus.resumeDuplicates. */
  resumeDuplicates = -1n;
  leaseLost = false;
  /** Graceful stop under way: no new fetches, results dropped. */
  private stopping = false;
  /** Once stopping: batches not acknowledged by then give up (monotonic ms). */
  private stopDeadline = Infinity;
  /** How the unit's batches are sent: their delivery deadline follows the lease when known. */
  private readonly produceOptions: ProduceOptions;
  private pending: Item[] = [];
  private buffered = 0;
  /** Retries of fetches and offset lookups (the shared jittered policy); reset by a good fetch. */
  private readonly retries: Backoff;
  private maxBytes: number;
  private progressTombstones: ProgressTombstone[] = [];
  private segmentTombstones: SegmentKey[] = [];
  readonly runs: OffsetRuns;
  private readonly transform: TransformContext;
  private readonly labels: UnitLabels;
  private readonly log: Logger;
  private readonly rate = new RateWindow();
  private readonly sourceGrowth = new SourceGrowth();
  /** Since the unit started here: the mean record size that turns source growth into bytes/s. */
  private copiedRecords = 0;
  private copiedBytes = 0;
  private readonly latencies = new LatencySamples();
  /** Newest timestamp (ms) of the last acknowledged batch: lag-in-time reference when nothing is pending. */
  private lastAckedTimestamp = -1;
  private drainWaiters: (() => void)[] = [];
  private wiring: UnitWiring | null = null;
  /** By kind, so that a later check replaces (or clears) what an earlier one said. */
  private readonly warnings = new Map<string, string>();

  constructor(
    readonly assignment: UnitAssignment,
    private readonly ctx: UnitContext,
  ) {
    this.key = { ...assignment.unit };
    this.id = unitId(this.key);
    this.epoch = assignment.epoch;
    this.topic = this.key.sourceTopic;
    this.partition = this.key.partition;
    this.maxBytes = ctx.partitionMaxBytes;
    this.retries = createBackoff({
      initialMs: Math.max(1, ctx.retryBackoffMs),
      maxMs: Math.max(1, ctx.retryBackoffMs, ctx.maxRetryBackoffMs),
    });
    const flow = assignment.flow;
    this.transform = {
      provenanceHeader: flow.provenanceHeader,
      // Identity naming can only be kept from looping by the header; prefix naming by names.
      loopCheck: flow.provenanceHeader || flow.naming === "identity",
      sourceAlias: flow.sourceCluster,
      targetAlias: flow.targetCluster,
      maxBatchBytes: ctx.maxReencodedBatchBytes,
    };
    this.labels = { flow: flow.name, topic: this.topic, partition: String(this.partition) };
    this.log = ctx.logger.child({
      flow: flow.name,
      topic: this.topic,
      partition: this.partition,
      epoch: String(this.epoch),
    });
    this.runs = new OffsetRuns(this.key, this.epoch, assignment.remoteTopic, ctx.agentId);
    // With a lease, a batch is retried (same producer id and sequence numbers) for as long as the
    // lease is trusted, each renewal moving its deadline on; a rewind would write again what
    // the target did take but had not acknowledged yet. Without one, deliveryTimeoutMs bounds it.
    this.produceOptions =
      ctx.leaseDeadline === undefined
        ? {}
        : { deadline: () => this.deliveryDeadline(), deliveryTimeoutMs: Infinity };
  }

  /**
   * The delivery deadline of this unit's batches now (monotonic ms): its lease's local deadline,
   * and once a graceful stop began, no later than deliveryTimeoutMs after it.
   */
  private deliveryDeadline(): number {
    // The producer takes a throw or NaN as "passed" too.
    if (this.leaseLost) return -Infinity;
    return Math.min(this.ctx.leaseDeadline?.(this.key, this.epoch) ?? -Infinity, this.stopDeadline);
  }

  get remoteTopic(): string {
    return this.assignment.remoteTopic;
  }

  get state(): UnitState {
    return this.currentState;
  }

  /** Every change is told to the engine's owner at once (the agent reports it to the coordinator). */
  set state(next: UnitState) {
    if (next === this.currentState) return;
    this.currentState = next;
    try {
      this.ctx.onStateChange?.(this.key);
    } catch (error) {
      this.log.warn({ err: error }, "replication: onUnitStateChange threw");
    }
  }

  get isActive(): boolean {
    return this.state === "running" || this.state === "paused";
  }

  // ---- start ----

  /**
   * Take the start position (from the highest-epoch progress, or the flow's startFrom) and write
   * an initial progress record under this epoch, which also claims the epoch in the target and
   * tombstones older epochs' records. Returns false when the unit must not run.
   * `remoteEnd` is the remote partition's end offset read before this unit wrote anything, to
   * measure what it writes again; -1n when not read.
   */
  async begin(
    wiring: UnitWiring,
    position: bigint,
    previous: readonly UnitProgress[],
    remoteEnd = -1n,
  ): Promise<boolean> {
    this.wiring = wiring;
    const top = previous[previous.length - 1];
    if (top !== undefined && top.epoch > this.epoch) {
      this.state = "stopped";
      this.reason = `fenced: the target holds progress of epoch ${top.epoch} (agent ${top.agentId}), above this unit's epoch ${this.epoch}`;
      this.log.warn({ theirs: String(top.epoch) }, "replication: unit fenced by a newer epoch");
      return false;
    }
    if (!this.checkLease()) return false;
    this.fetchNext = position;
    this.ackedNext = position;
    this.lastTargetOffset =
      top !== undefined && top.nextSourceOffset === position ? top.lastTargetOffset : -1n;
    this.progressTombstones = previous
      .filter((p) => p.epoch < this.epoch)
      .map((p) => ({ unit: this.key, epoch: p.epoch }));
    const ok = await wiring.checkpointer.flushUnit(
      this,
      performance.now() + this.ctx.deliveryTimeoutMs,
    );
    if (this.leaseLost || this.stopping) return false;
    if (!ok) throw new Error("could not write the initial progress record to the target");
    this.state = this.assignment.flow.paused ? "paused" : "running";
    this.reason = this.state === "paused" ? "flow paused" : "";
    const countedByEnd = this.assignment.flow.naming === "prefix";
    if (top !== undefined && remoteEnd >= 0n && countedByEnd) this.measureResume(top, remoteEnd);
    this.log.info(
      {
        position: String(position),
        resumed: top !== undefined,
        resumeDuplicates:
          top !== undefined && remoteEnd >= 0n && !countedByEnd
            ? "counting"
            : String(this.resumeDuplicates),
      },
      "replication: unit started",
    );
    wiring.reader.add(this);
    return true;
  }

  /**
   * The progress says the target acknowledged up to `lastTargetOffset`; whatever the remote
   * partition holds beyond it was written after that record and is written again from here.
   */
  private measureResume(top: UnitProgress, remoteEnd: bigint): void {
    if (top.lastTargetOffset < 0n || top.nextSourceOffset !== this.ackedNext) return;
    const extra = remoteEnd - (top.lastTargetOffset + 1n);
    if (extra < 0n) {
      this.log.warn(
        { remoteEnd: String(remoteEnd), lastTargetOffset: String(top.lastTargetOffset) },
        "replication: the remote partition ends before the last offset the progress says it acknowledged; records were lost from the target (topic recreated, unclean leader election)",
      );
      return;
    }
    this.recordResumeDuplicates(top, extra, remoteEnd);
  }

  /**
   * The records written again on resume: counted from the remote partition's end (prefix naming:
   * this unit is its one writer), or by matching its tail against the source (other naming).
   */
  recordResumeDuplicates(top: UnitProgress, extra: bigint, remoteEnd: bigint): void {
    this.resumeDuplicates = extra;
    this.ctx.metrics.resumeDuplicates.inc(this.labels, Number(extra));
    if (extra > 0n) {
      this.log.info(
        {
          resumeDuplicates: String(extra),
          sourceFrom: String(top.nextSourceOffset),
          targetFrom: String(top.lastTargetOffset + 1n),
          targetEnd: String(remoteEnd),
          previousAgent: top.agentId,
          previousEpoch: String(top.epoch),
        },
        "replication: resuming writes again records the previous owner wrote after its last progress",
      );
    }
  }

  /**
   * The effective max.message.bytes of the source and remote topics: when the source accepts
   * larger batches, the first one above the target's limit will be refused and stop the unit.
   * Returns whether that is the case.
   */
  setMessageLimits(source: number, target: number): boolean {
    if (this.stopping || this.leaseLost) return false;
    const mismatch = source > target;
    if (mismatch) {
      const flow = this.assignment.flow;
      this.warnings.set(
        "max.message.bytes",
        `source topic ${this.topic} on ${flow.sourceCluster} accepts batches of up to ${source} bytes (max.message.bytes) but remote topic ${this.remoteTopic} on ${flow.targetCluster} only ${target}: a larger batch will be refused and stop this unit; raise max.message.bytes of ${this.remoteTopic} to at least ${source}`,
      );
    } else {
      this.warnings.delete("max.message.bytes");
    }
    this.ctx.metrics.maxMessageBytesMismatch.set(this.labels, mismatch ? 1 : 0);
    return mismatch;
  }

  setPaused(paused: boolean): void {
    if (!this.isActive) return;
    this.state = paused ? "paused" : "running";
    this.reason = paused ? "flow paused" : "";
    if (!paused) this.wiring?.reader.schedule();
  }

  // ---- fetching ----

  fetchReadiness(now: number): "ready" | "throttled" | "idle" {
    if (this.state !== "running" || this.stopping || now < this.backoffUntil) return "idle";
    if (this.buffered >= this.ctx.maxUnitBufferedBytes || !this.ctx.engineBudgetLeft()) {
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
    if (gen !== this.gen || this.stopping || !this.isActive) return;
    // A fetch sent before the position moved back without a new generation (a rewind moves it
    // once the producer partition has reset) must not be applied from the new position: the
    // records in between would be skipped.
    if (r.fetchOffset !== this.fetchNext) return;
    // A long poll sent before the flow was paused can answer after it: drop what it read, the
    // position stays, and the same records are fetched again on resume.
    if (this.state === "paused") return;
    if (r.error !== null) {
      this.onFetchError(r);
      return;
    }
    this.retries.reset();
    if (r.highWatermark >= 0n) {
      this.highWatermark = r.highWatermark;
      this.sourceGrowth.observe(r.highWatermark);
    }
    if (r.logStartOffset >= 0n) this.logStartOffset = r.logStartOffset;
    if (r.incomplete) {
      // A batch larger than what we asked for: ask for more (partitions also rotate).
      this.maxBytes = Math.min(MAX_PARTITION_BYTES, this.maxBytes * 2);
    } else if (r.batches.length > 0) {
      this.maxBytes = this.ctx.partitionMaxBytes;
    }
    const wiring = this.wiring!;
    const now = Date.now();
    let position = this.fetchNext;
    for (const batch of r.batches) {
      let plan: ReturnType<typeof planBatch>;
      try {
        plan = planBatch(batch, position, this.transform);
      } catch (e) {
        this.onBatchError(e);
        return;
      }
      if (plan.skipped > 0) {
        this.skippedRecords += plan.skipped;
        this.ctx.metrics.skipped.inc(this.labels, plan.skipped);
      }
      for (const pb of plan.batches) {
        // Fencing: never send once the lease may be gone.
        if (!this.checkLease()) return;
        this.ctx.metrics.ageAtRead.observe(
          this.labels,
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
        this.sendBatch(wiring.producer, pb, sampled);
      }
      if (plan.batches.length === 0) this.pushNoop(plan.sourceNext, false);
      position = plan.sourceNext;
    }
    // Past control records, aborted transactions, compacted-away tails.
    if (r.nextOffset > position) this.pushNoop(r.nextOffset, false);
    if (r.nextOffset > this.fetchNext) this.fetchNext = r.nextOffset;
    this.updateLagGauges();
  }

  private onFetchError(r: PartitionFetchResult): void {
    const err = r.error!;
    if (err instanceof OffsetOutOfRangeError) {
      this.onOutOfRange(err);
      return;
    }
    const retriable =
      err instanceof KafkaWireError || err instanceof RecordBatchError ? err.retriable : false;
    if (retriable) {
      this.backoff(`fetching from the source: ${err.message}`);
      return;
    }
    this.fail(`source: ${err.message}`, err.code);
  }

  private onOutOfRange(err: OffsetOutOfRangeError): void {
    const policy = this.assignment.flow.onOffsetOutOfRange;
    const what = `source offset ${err.fetchOffset} of ${this.topic}-${this.partition} is out of range (log start ${err.logStartOffset}, high watermark ${err.highWatermark})`;
    if (policy === "fail") {
      this.fail(`${what}; onOffsetOutOfRange=fail`, "OFFSET_OUT_OF_RANGE");
      return;
    }
    const to = policy === "earliest" ? err.logStartOffset : err.highWatermark;
    if (to < 0n) {
      this.backoff(`${what}; the log's bounds could not be listed, retrying`);
      return;
    }
    this.offsetResets++;
    this.ctx.metrics.offsetResets.inc({ ...this.labels, policy });
    this.reason = `${what}; jumped to ${to} (onOffsetOutOfRange=${policy})`;
    this.log.warn(
      { from: String(err.fetchOffset), to: String(to), policy },
      "replication: source position out of range; jumping",
    );
    this.fetchNext = to;
    this.pushNoop(to, true);
    this.wiring?.reader.schedule();
  }

  private backoff(reason: string): void {
    const backoffMs = this.retries.next();
    this.backoffUntil = performance.now() + backoffMs;
    this.reason = reason;
    this.log.debug({ reason, backoffMs }, "replication: retrying");
  }

  // ---- producing ----

  private sendBatch(
    producer: IdempotentProducer,
    pb: PlannedBatch,
    sampled: SampledBatch | undefined,
  ): void {
    const item: Item = {
      gen: this.gen,
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
    this.buffered += pb.bytes;
    this.ctx.addBuffered(pb.bytes);
    const traced = sampled?.startWrite(this.remoteTopic, this.partition);
    producer.send(this.remoteTopic, this.partition, pb.input, this.produceOptions).then(
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
    const item: Item = {
      gen: this.gen,
      plan: null,
      sourceNext,
      breakRun,
      bytes: 0,
      settled: true,
      sentAt: 0,
      result: null,
      error: null,
    };
    this.pending.push(item);
    if (this.pending.length === 1) queueMicrotask(() => this.drainAcks());
  }

  /** Applies settled items at the head of the queue, in source order. */
  private drainAcks(): void {
    let advanced = false;
    while (this.pending.length > 0 && this.pending[0]!.settled) {
      const item = this.pending.shift()!;
      this.release(item.bytes);
      if (item.gen !== this.gen) continue;
      if (item.error !== null) {
        this.onProduceError(item.error);
        break;
      }
      this.apply(item);
      advanced = true;
    }
    if (advanced) {
      this.wiring?.checkpointer.markDirty(this);
      this.updateLagGauges();
    }
    if (this.pending.length === 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
    this.wiring?.reader.schedule();
  }

  private release(bytes: number): void {
    if (bytes === 0) return;
    this.buffered -= bytes;
    this.ctx.addBuffered(-bytes);
  }

  private apply(item: Item): void {
    const pb = item.plan;
    if (pb !== null && item.result !== null) {
      const res = item.result;
      this.runs.addBatch(pb.sourceRuns, res.baseOffset);
      this.lastTargetOffset = res.lastOffset;
      this.ctx.metrics.records.inc(this.labels, pb.recordCount);
      this.ctx.metrics.bytes.inc(this.labels, pb.bytes);
      this.rate.add(pb.recordCount, pb.bytes);
      this.copiedRecords += pb.recordCount;
      this.copiedBytes += pb.bytes;
      const ts = Number(pb.maxTimestamp);
      const latencyMs = Math.max(0, Date.now() - ts);
      this.latencies.add(latencyMs);
      this.ctx.metrics.latency.observe(this.labels, latencyMs / 1000);
      this.lastAckedTimestamp = ts;
    }
    if (item.breakRun) this.runs.breakRun();
    this.ackedNext = item.sourceNext;
  }

  private onProduceError(e: unknown): void {
    if (e instanceof WireClosedError) {
      // The engine is closing under us: nothing more will be acknowledged.
      this.bumpGen();
      return;
    }
    if (e instanceof RecordRejectedError) {
      this.fail(`the target refused a batch: ${e.message}`, e.reason);
      return;
    }
    const retriable = e instanceof KafkaWireError ? e.retriable : false;
    if (!retriable) {
      this.fail(`producing to the target: ${(e as Error)?.message ?? String(e)}`, "PRODUCE_FAILED");
      return;
    }
    // With a lease the delivery deadline is the lease's: the producer gave up because the lease
    // can no longer be trusted. The unit stops as lease lost; its successor resumes from the
    // recorded progress. Rewinding here would only write again without a lease.
    if (!this.checkLease()) return;
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
    const gen = this.bumpGen();
    this.backoff(`retrying after: ${e.message}`);
    this.log.warn(
      { err: e.message },
      "replication: produce failed; resuming from the last acknowledged offset",
    );
    this.runs.breakRun();
    await this.wiring?.producer.resetPartition(this.remoteTopic, this.partition).catch(() => {});
    if (gen !== this.gen || !this.isActive) return;
    this.fetchNext = this.ackedNext;
    this.wiring?.reader.schedule();
  }

  /** Invalidate everything in flight: pending items are dropped, fetch results ignored. */
  private bumpGen(): number {
    this.gen++;
    for (const item of this.pending) this.release(item.bytes);
    // Items still in the producer settle later; their bytes are released here already.
    for (const item of this.pending) item.bytes = 0;
    this.pending = [];
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
    return this.gen;
  }

  private onBatchError(e: unknown): void {
    const err = e as RecordBatchError;
    if (err instanceof RecordBatchError && err.retriable) {
      this.backoff(`decoding a source batch: ${err.message}`);
      return;
    }
    this.fail(
      `decoding a source batch: ${(e as Error)?.message ?? String(e)}`,
      err?.code ?? "INVALID_RECORD",
    );
  }

  /** Stop with state error; what was acknowledged is still recorded. */
  fail(reason: string, code: string): void {
    if (this.state === "error" || !this.isActive) return;
    this.bumpGen();
    this.state = "error";
    this.reason = reason;
    this.ctx.metrics.unitErrors.inc({ ...this.labels, reason: code });
    this.log.error({ reason, code }, "replication: unit stopped by an error");
    const w = this.wiring;
    if (w === null) return;
    w.reader.remove(this);
    void w.producer.resetPartition(this.remoteTopic, this.partition).catch(() => {});
    void w.checkpointer.flushUnit(this, performance.now() + this.ctx.deliveryTimeoutMs);
  }

  // ---- fencing ----

  private checkLease(): boolean {
    if (this.leaseLost) return false;
    let ok: boolean;
    try {
      ok = this.ctx.leaseGuard(this.key, this.epoch);
    } catch {
      ok = false;
    }
    if (!ok) this.loseLease();
    return ok;
  }

  /** Stop now: nothing more is sent, no progress written. */
  loseLease(): void {
    if (this.leaseLost) return;
    this.leaseLost = true;
    this.bumpGen();
    this.state = "stopped";
    this.reason = "lease lost";
    this.log.warn("replication: lease lost; unit stopped");
    const w = this.wiring;
    if (w === null) return;
    w.reader.remove(this);
    w.checkpointer.forget(this);
    // Drop the batches queued in the producer; those on the wire settle on their own.
    void w.producer.resetPartition(this.remoteTopic, this.partition).catch(() => {});
  }

  // ---- checkpoints ----

  get needsPersist(): boolean {
    if (this.leaseLost || this.ackedNext < 0n) return false;
    return (
      this.persistedNext !== this.ackedNext ||
      this.persistedTarget !== this.lastTargetOffset ||
      this.runs.hasDirty ||
      this.progressTombstones.length > 0 ||
      this.segmentTombstones.length > 0
    );
  }

  snapshot(): CheckpointSnapshot | null {
    if (this.leaseLost || this.ackedNext < 0n) return null;
    if (!this.checkLease()) return null;
    const changed =
      this.persistedNext !== this.ackedNext || this.persistedTarget !== this.lastTargetOffset;
    const s: CheckpointSnapshot = {
      progress: changed
        ? {
            ...this.key,
            epoch: this.epoch,
            nextSourceOffset: this.ackedNext,
            lastTargetOffset: this.lastTargetOffset,
            agentId: this.ctx.agentId,
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

  /** Tombstone these segments with the next checkpoint. */
  tombstoneSegments(keys: readonly SegmentKey[]): void {
    if (keys.length === 0) return;
    this.segmentTombstones.push(...keys);
    this.wiring?.checkpointer.markDirty(this);
  }

  // ---- stopping ----

  private drained(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Graceful stop: no new fetches; wait until the batches in flight are acknowledged (or fail,
   * bounded by the delivery timeout); write the final progress. A unit in error or without its
   * lease keeps its state.
   */
  async stop(reason: string): Promise<void> {
    this.stopping = true;
    // The lease may still be renewed while the unit stops (a release, the agent shutting down):
    // the batches in flight get deliveryTimeoutMs from here, not as long as the lease holds.
    this.stopDeadline = Math.min(this.stopDeadline, performance.now() + this.ctx.deliveryTimeoutMs);
    const w = this.wiring;
    w?.reader.remove(this);
    await this.drained();
    if (w !== null && !this.leaseLost) {
      const ok = await w.checkpointer.flushUnit(
        this,
        performance.now() + this.ctx.deliveryTimeoutMs,
      );
      if (!ok) this.log.warn("replication: final progress could not be written");
    }
    this.bumpGen();
    if (this.state !== "error" && !this.leaseLost) {
      this.state = "stopped";
      this.reason = reason;
    }
    if (w !== null) w.checkpointer.forget(this);
    this.clearGauges();
  }

  /** Stop asked while starting. */
  markStopping(): void {
    this.stopping = true;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  // ---- status ----

  private lag(): { records: bigint; seconds: number } {
    if (this.highWatermark < 0n || this.ackedNext < 0n) return { records: 0n, seconds: 0 };
    const records = this.highWatermark > this.ackedNext ? this.highWatermark - this.ackedNext : 0n;
    if (records === 0n) return { records, seconds: 0 };
    const head = this.pending.find((i) => i.plan !== null);
    const ts =
      head?.plan?.firstTimestamp !== undefined
        ? Number(head.plan.firstTimestamp)
        : this.lastAckedTimestamp;
    return { records, seconds: ts < 0 ? 0 : Math.max(0, (Date.now() - ts) / 1000) };
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
    const lag = this.lag();
    this.ctx.metrics.lagRecords.set(this.labels, Number(lag.records));
    this.ctx.metrics.lagSeconds.set(this.labels, lag.seconds);
  }

  private clearGauges(): void {
    this.ctx.metrics.lagRecords.remove(this.labels);
    this.ctx.metrics.lagSeconds.remove(this.labels);
    this.ctx.metrics.maxMessageBytesMismatch.remove(this.labels);
  }

  /** Bytes/s the source appends (see {@link SourceGrowth}); undefined until measured. */
  private loadBytesPerSecond(): number | undefined {
    const growth = this.sourceGrowth.recordsPerSecond();
    if (growth === undefined) return undefined;
    if (growth === 0) return 0;
    if (this.copiedRecords === 0) return undefined;
    return (growth * this.copiedBytes) / this.copiedRecords;
  }

  /**
   * While the lease holds, a batch the target does not acknowledge is retried rather than given
   * up on: past deliveryTimeoutMs, say so in the status.
   */
  private waitingReason(): string | undefined {
    if (this.state !== "running") return undefined;
    const head = this.pending.find((i) => i.plan !== null && !i.settled);
    if (head === undefined) return undefined;
    const waitedMs = performance.now() - head.sentAt;
    if (waitedMs <= this.ctx.deliveryTimeoutMs) return undefined;
    return `the target has not acknowledged the batch from source offset ${this.ackedNext} for ${Math.round(waitedMs)} ms; sending it again while the lease holds`;
  }

  status(): UnitStatus {
    const lag = this.lag();
    const load = this.loadBytesPerSecond();
    const { recordsPerSecond, bytesPerSecond } = this.rate.rates();
    const { p50, p99 } = this.latencies.quantiles();
    return {
      unit: { ...this.key },
      epoch: this.epoch,
      state: this.state,
      reason: this.waitingReason() ?? this.reason,
      nextSourceOffset: this.ackedNext,
      lastTargetOffset: this.lastTargetOffset,
      lagRecords: lag.records,
      lagSeconds: lag.seconds,
      recordsPerSecond,
      bytesPerSecond,
      ...(load === undefined ? {} : { loadBytesPerSecond: load }),
      latencyP50Ms: p50,
      latencyP99Ms: p99,
      offsetResets: this.offsetResets,
      skippedRecords: this.skippedRecords,
      remoteTopic: this.remoteTopic,
      warnings: [...this.warnings.values()],
      resumeDuplicates: this.resumeDuplicates,
    };
  }
}
