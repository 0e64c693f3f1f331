import type { Logger } from "@geo/logging";
import { asOffset, type Epoch } from "@geo/positions";
import { type SegmentKey, type UnitKey, type UnitProgress, unitId } from "@geo/progress";
import { FetchProducePipeline, type PipelineHost } from "./fetch-produce-pipeline";
import { OffsetRuns } from "./offset-runs";
import type { UnitAssignment, UnitState, UnitStatus } from "./types";
import { UnitCheckpoint } from "./unit-checkpoint";
import type { UnitContext, UnitWiring } from "./unit-context";
import { UnitFence } from "./unit-fence";
import { UnitMeters } from "./unit-meters";

export type { UnitContext, UnitWiring } from "./unit-context";

/**
 * One unit: its state machine (pending → running ⇄ paused → stopped | error) and lifecycle
 * (begin, pause, graceful stop, failure, lease loss), composed of its parts: the fetch→produce
 * pipeline that copies its source partition to the remote partition, the fence that keeps it
 * from writing without its lease, the checkpoint that records what the target acknowledged, and
 * its meters. Progress records only ever carry the acknowledged position.
 */
export class Unit implements PipelineHost {
  readonly id: string;
  readonly key: UnitKey;
  readonly epoch: Epoch;
  readonly topic: string;
  readonly partition: number;
  private currentState: UnitState = "pending";
  reason = "starting";
  /** See UnitStatus.resumeDuplicates. */
  resumeDuplicates = -1n;
  /** Graceful stop under way: no new fetches, results dropped. */
  private stopping = false;
  readonly runs: OffsetRuns;
  readonly pipeline: FetchProducePipeline;
  readonly checkpoint: UnitCheckpoint;
  private readonly fence: UnitFence;
  private readonly meters: UnitMeters;
  private readonly log: Logger;
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
    const flow = assignment.flow;
    this.meters = new UnitMeters(ctx.metrics, {
      flow: flow.name,
      topic: this.topic,
      partition: String(this.partition),
    });
    this.log = ctx.logger.child({
      flow: flow.name,
      topic: this.topic,
      partition: this.partition,
      epoch: String(this.epoch),
    });
    this.runs = new OffsetRuns(this.key, this.epoch, assignment.remoteTopic, ctx.agentId);
    this.fence = new UnitFence(this.key, this.epoch, ctx, () => this.loseLease());
    this.pipeline = new FetchProducePipeline(
      assignment,
      ctx,
      this,
      this.fence,
      this.meters,
      this.runs,
      this.log,
    );
    this.checkpoint = new UnitCheckpoint(
      this.id,
      this.key,
      this.epoch,
      ctx.agentId,
      this.pipeline,
      this.runs,
      this.fence,
    );
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

  get leaseLost(): boolean {
    return this.fence.leaseLost;
  }

  get ackedNext(): bigint {
    return this.pipeline.ackedNext;
  }

  get logStartOffset(): bigint {
    return this.pipeline.logStartOffset;
  }

  onAdvanced(): void {
    this.checkpoint.markDirty();
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
    this.pipeline.attach(wiring.reader, wiring.producer);
    this.checkpoint.attach(wiring.checkpointer);
    const top = previous[previous.length - 1];
    if (top !== undefined && top.epoch > this.epoch) {
      this.state = "stopped";
      this.reason = `fenced: the target holds progress of epoch ${top.epoch} (agent ${top.agentId}), above this unit's epoch ${this.epoch}`;
      this.log.warn({ theirs: String(top.epoch) }, "replication: unit fenced by a newer epoch");
      return false;
    }
    if (!this.fence.check()) return false;
    this.pipeline.startAt(position);
    this.pipeline.lastTargetOffset =
      top !== undefined && top.nextSourceOffset === position ? top.lastTargetOffset : -1n;
    this.checkpoint.tombstoneProgress(
      previous.filter((p) => p.epoch < this.epoch).map((p) => ({ unit: this.key, epoch: p.epoch })),
    );
    const ok = await this.checkpoint.flush(performance.now() + this.ctx.deliveryTimeoutMs);
    if (this.leaseLost || this.stopping) return false;
    if (!ok) throw new Error("could not write the initial progress record to the target");
    this.state = this.assignment.flow.paused ? "paused" : "running";
    this.reason = this.state === "paused" ? "flow paused" : "";
    this.logStarted(position, top, remoteEnd);
    this.pipeline.addToReader();
    return true;
  }

  private logStarted(position: bigint, top: UnitProgress | undefined, remoteEnd: bigint): void {
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
    this.ctx.metrics.resumeDuplicates.inc(this.meters.labels, Number(extra));
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
    this.ctx.metrics.maxMessageBytesMismatch.set(this.meters.labels, mismatch ? 1 : 0);
    return mismatch;
  }

  setPaused(paused: boolean): void {
    if (!this.isActive) return;
    this.state = paused ? "paused" : "running";
    this.reason = paused ? "flow paused" : "";
    if (paused) void this.recordPausedPosition();
    else this.pipeline.schedule();
  }

  /**
   * A paused unit's lag is read from its progress record (the health monitor's lag, a failover's
   * records at risk): once the batches in flight when it paused are acknowledged, write where it
   * stopped at once, not at the next interval, which a lost region may never reach.
   */
  private async recordPausedPosition(): Promise<void> {
    await this.pipeline.drained();
    if (this.state !== "paused" || this.stopping || this.leaseLost || this.wiring === null) return;
    const ok = await this.checkpoint.flush(performance.now() + this.ctx.deliveryTimeoutMs);
    if (!ok) this.log.warn("replication: the paused unit's progress could not be written");
  }

  // ---- stopping ----

  /** Stop with state error; what was acknowledged is still recorded. */
  fail(reason: string, code: string): void {
    if (this.state === "error" || !this.isActive) return;
    this.pipeline.invalidate();
    this.state = "error";
    this.reason = reason;
    this.ctx.metrics.unitErrors.inc({ ...this.meters.labels, reason: code });
    this.log.error({ reason, code }, "replication: unit stopped by an error");
    if (this.wiring === null) return;
    this.pipeline.removeFromReader();
    this.pipeline.resetProducer();
    void this.checkpoint.flush(performance.now() + this.ctx.deliveryTimeoutMs);
  }

  /** Stop now: nothing more is sent, no progress written. */
  loseLease(): void {
    if (!this.fence.markLost()) return;
    this.pipeline.invalidate();
    this.state = "stopped";
    this.reason = "lease lost";
    this.log.warn("replication: lease lost; unit stopped");
    if (this.wiring === null) return;
    this.pipeline.removeFromReader();
    this.checkpoint.forget();
    this.pipeline.resetProducer();
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
    this.fence.stopBy(performance.now() + this.ctx.deliveryTimeoutMs);
    const w = this.wiring;
    this.pipeline.removeFromReader();
    await this.pipeline.drained();
    if (w !== null && !this.leaseLost) {
      const ok = await this.checkpoint.flush(performance.now() + this.ctx.deliveryTimeoutMs);
      if (!ok) this.log.warn("replication: final progress could not be written");
    }
    this.pipeline.invalidate();
    if (this.state !== "error" && !this.leaseLost) {
      this.state = "stopped";
      this.reason = reason;
    }
    if (w !== null) this.checkpoint.forget();
    this.meters.clearGauges();
  }

  /** Stop asked while starting. */
  markStopping(): void {
    this.stopping = true;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  // ---- status ----

  /** Tombstone these segments with the next checkpoint. */
  tombstoneSegments(keys: readonly SegmentKey[]): void {
    this.checkpoint.tombstoneSegments(keys);
  }

  /** See FetchProducePipeline.setSourceEnd. */
  setSourceEnd(end: bigint): void {
    this.pipeline.setSourceEnd(end);
  }

  /**
   * While the lease holds, a batch the target does not acknowledge is retried rather than given
   * up on: past deliveryTimeoutMs, say so in the status.
   */
  private waitingReason(): string | undefined {
    if (this.state !== "running") return undefined;
    const waitedMs = this.pipeline.oldestUnansweredMs();
    if (waitedMs === undefined || waitedMs <= this.ctx.deliveryTimeoutMs) return undefined;
    return `the target has not acknowledged the batch from source offset ${this.ackedNext} for ${Math.round(waitedMs)} ms; sending it again while the lease holds`;
  }

  status(): UnitStatus {
    const p = this.pipeline;
    const lag = p.lag();
    const load = this.meters.loadBytesPerSecond();
    const { recordsPerSecond, bytesPerSecond } = this.meters.rates();
    const { p50, p99 } = this.meters.latencyQuantiles();
    return {
      unit: { ...this.key },
      epoch: this.epoch,
      state: this.state,
      reason: this.waitingReason() ?? this.reason,
      // -1 (NO_OFFSET) until the unit knows its start, and until the target acknowledged one.
      nextSourceOffset: asOffset(p.ackedNext),
      lastTargetOffset: asOffset(p.lastTargetOffset),
      lagRecords: lag.records,
      lagSeconds: lag.seconds,
      recordsPerSecond,
      bytesPerSecond,
      ...(load === undefined ? {} : { loadBytesPerSecond: load }),
      latencyP50Ms: p50,
      latencyP99Ms: p99,
      offsetResets: p.offsetResets,
      skippedRecords: p.skippedRecords,
      remoteTopic: this.remoteTopic,
      warnings: [...this.warnings.values()],
      resumeDuplicates: this.resumeDuplicates,
    };
  }
}
