import type { Logger } from "@geo/logging";
import { Registry } from "@geo/metrics";
import { asOffset, type Offset } from "@geo/positions";
import { type SegmentKey, type UnitKey, unitId } from "@geo/progress";
import { createBatchTraces } from "./batch-traces";
import { ClusterContexts } from "./cluster-contexts";
import { createEngineMetrics, type EngineMetrics } from "./engine-metrics";
import { MessageLimitsCheck } from "./message-limits";
import type {
  ReplicationEngine,
  ReplicationEngineOptions,
  UnitAssignment,
  UnitStatus,
} from "./types";
import type { Unit } from "./unit";
import type { UnitContext } from "./unit-context";
import { startUnit, type UnitEntry } from "./unit-start";

export { UnknownClusterError } from "./cluster-contexts";

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The agent's data path: replicates the units it is assigned from their source partitions to the
 * remote partitions, with progress and offset-map records in the target. See README.md.
 */
export function createReplicationEngine(options: ReplicationEngineOptions): ReplicationEngine {
  return new Engine(options);
}

/**
 * The engine: the set of units and their lifecycle (assign, release, close, one change at a
 * time), the shared buffer budget, and its periodic work (offset-map cleanup, topic limits,
 * the lag of units in error). Its parts: cluster contexts (clients per cluster), unit start,
 * and the max.message.bytes check.
 */
class Engine implements ReplicationEngine {
  private readonly units = new Map<string, UnitEntry>();
  private readonly clusters: ClusterContexts;
  private readonly messageLimits: MessageLimitsCheck;
  private readonly metrics: EngineMetrics;
  private readonly ctx: UnitContext;
  private readonly logger: Logger;
  private readonly maxBufferedBytes: number;
  private readonly topicConfigRefreshMs: number;
  private buffered = 0;
  private serialQueue: Promise<unknown> = Promise.resolve();
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(private readonly options: ReplicationEngineOptions) {
    if (!options.agentId) throw new TypeError("createReplicationEngine: agentId is required");
    this.logger = options.logger.child({ agent: options.agentId });
    this.metrics = createEngineMetrics(options.metrics ?? new Registry());
    this.maxBufferedBytes = options.maxBufferedBytes ?? 64 * MiB;
    const clientId =
      options.clientId ?? `geo-agent-${options.agentId}`.replace(/[^A-Za-z0-9._-]/g, "_");
    this.ctx = this.unitContext();
    this.clusters = new ClusterContexts({
      options,
      ctx: this.ctx,
      metrics: this.metrics,
      logger: this.logger,
      clientId,
      requestMaxBytes: () =>
        Math.max(256 * KiB, Math.min(16 * MiB, this.maxBufferedBytes - this.buffered)),
    });
    this.messageLimits = new MessageLimitsCheck(
      (alias) => this.clusters.cluster(alias),
      clientId,
      this.logger,
    );
    this.topicConfigRefreshMs = options.topicConfigRefreshMs ?? 10 * 60_000;
    this.startTimers();
  }

  private unitContext(): UnitContext {
    const options = this.options;
    return {
      agentId: options.agentId,
      logger: this.logger,
      metrics: this.metrics,
      leaseGuard: options.leaseGuard ?? (() => true),
      onStateChange: options.onUnitStateChange,
      leaseDeadline: options.leaseDeadline,
      deliveryTimeoutMs: options.deliveryTimeoutMs ?? 30_000,
      retryBackoffMs: options.retryBackoffMs ?? 100,
      maxRetryBackoffMs: options.maxRetryBackoffMs ?? 5000,
      partitionMaxBytes: options.partitionMaxBytes ?? MiB,
      maxUnitBufferedBytes:
        options.maxUnitBufferedBytes ?? Math.min(8 * MiB, Math.max(MiB, this.maxBufferedBytes / 2)),
      maxReencodedBatchBytes: options.maxReencodedBatchBytes ?? 512 * KiB,
      engineBudgetLeft: () => this.buffered < this.maxBufferedBytes,
      addBuffered: (n) => this.addBuffered(n),
      batchTraces: createBatchTraces(options.traceBatchesOneIn ?? 0, options.agentId),
    };
  }

  /** Periodic work; each off at an interval of 0. */
  private startTimers(): void {
    const every = (ms: number, work: () => void) => {
      if (ms <= 0) return;
      const timer = setInterval(work, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.options.offsetMapCleanupIntervalMs ?? 10 * 60_000, () => {
      this.cleanOffsetMap().catch((e: unknown) =>
        this.logger.warn({ err: (e as Error).message }, "replication: offset-map cleanup failed"),
      );
    });
    every(this.options.stoppedLagRefreshMs ?? 2000, () => this.refreshStoppedLag());
    every(this.topicConfigRefreshMs, () =>
      this.messageLimits.refresh([...this.units.values()].map((e) => e.unit)),
    );
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serialQueue.then(fn, fn);
    this.serialQueue = run.catch(() => {});
    return run;
  }

  private addBuffered(n: number): void {
    const wasFull = this.buffered >= this.maxBufferedBytes;
    this.buffered += n;
    this.metrics.bufferedBytes.set({ engine: this.options.agentId }, this.buffered);
    if (wasFull && this.buffered < this.maxBufferedBytes) {
      for (const s of this.clusters.sources.values()) s.reader.schedule();
    }
  }

  /** See MessageLimitsCheck.check; off with topicConfigRefreshMs 0. */
  private async checkMessageLimits(unit: Unit): Promise<void> {
    if (this.topicConfigRefreshMs <= 0) return;
    await this.messageLimits.check(unit);
  }

  /** Units in error fetch no more: their source end is read here, so their lag stays true. */
  private refreshStoppedLag(): void {
    for (const { unit } of this.units.values()) {
      if (unit.state !== "error") continue;
      const source = this.clusters.sources.get(unit.assignment.flow.sourceCluster);
      source?.offsets.load({ topic: unit.topic, partition: unit.partition, spec: "latest" }).then(
        (end) => unit.setSourceEnd(end),
        (e: unknown) =>
          this.logger.debug(
            { unit: unit.id, err: (e as Error).message },
            "replication: could not read the source end of a unit in error",
          ),
      );
    }
  }

  // ---- units ----

  assign(assignments: readonly UnitAssignment[]): Promise<void> {
    return this.serial(async () => {
      if (this.closed) throw new Error("replication engine is closed");
      const desired = new Map<string, UnitAssignment>();
      for (const a of assignments) {
        const id = unitId(a.unit);
        if (desired.has(id)) throw new TypeError(`assign: unit ${id} is listed twice`);
        if (typeof a.epoch !== "bigint")
          throw new TypeError(`assign: epoch of ${id} must be a bigint`);
        desired.set(id, a);
      }
      const stops: Promise<void>[] = [];
      const starts: UnitAssignment[] = [];
      for (const [id, entry] of this.units) {
        const want = desired.get(id);
        if (want === undefined) {
          stops.push(this.stopEntry(entry, "unassigned").then(() => void this.units.delete(id)));
          continue;
        }
        // A unit that stopped because its lease lapsed starts again when it is assigned again
        // and its lease is trusted again (a renewal confirmed it at the same epoch).
        const regained = entry.unit.leaseLost && this.ctx.leaseGuard(entry.unit.key, want.epoch);
        if (needsRestart(entry.unit.assignment, want) || regained) {
          stops.push(
            this.stopEntry(entry, "reassigned").then(() => {
              this.units.delete(id);
            }),
          );
          starts.push(want);
          continue;
        }
        const u = entry.unit;
        u.assignment.flow = { ...want.flow };
        if (u.isActive && (u.state === "paused") !== want.flow.paused)
          u.setPaused(want.flow.paused);
      }
      for (const [id, a] of desired) if (!this.units.has(id)) starts.push(a);
      await Promise.all(stops);
      const started = starts.map((a) => this.startUnit(a));
      await Promise.all(started.map((e) => e.firstAttempt));
    });
  }

  private startUnit(a: UnitAssignment): UnitEntry {
    const entry = startUnit(
      {
        clusters: this.clusters,
        ctx: this.ctx,
        logger: this.logger,
        isClosed: () => this.closed,
        checkMessageLimits: (unit) => this.checkMessageLimits(unit),
      },
      a,
    );
    this.units.set(entry.unit.id, entry);
    return entry;
  }

  private async stopEntry(entry: UnitEntry, reason: string): Promise<void> {
    entry.unit.markStopping();
    entry.cancelStart();
    await entry.starting;
    await entry.unit.stop(reason);
  }

  release(unit: UnitKey): Promise<{ nextSourceOffset: Offset }> {
    return this.serial(async () => {
      const id = unitId(unit);
      const entry = this.units.get(id);
      if (entry === undefined) throw new Error(`release: unit ${id} is not assigned here`);
      await this.stopEntry(entry, "released");
      this.units.delete(id);
      const u = entry.unit;
      return {
        nextSourceOffset: asOffset(
          u.checkpoint.persistedNext >= 0n ? u.checkpoint.persistedNext : u.ackedNext,
        ),
      };
    });
  }

  statuses(units?: readonly UnitKey[]): UnitStatus[] {
    const entries =
      units === undefined
        ? [...this.units.values()]
        : units.flatMap((unit) => {
            const entry = this.units.get(unitId(unit));
            return entry === undefined ? [] : [entry];
          });
    return entries.map((e) => e.unit.status());
  }

  async cleanOffsetMap(): Promise<{ tombstoned: number }> {
    let tombstoned = 0;
    for (const t of this.clusters.targets.values()) {
      const units = [...this.units.values()]
        .map((e) => e.unit)
        .filter(
          (u) => u.isActive && u.assignment.flow.targetCluster === t.alias && u.logStartOffset > 0n,
        );
      if (units.length === 0) continue;
      const segments = await t.store.loadSegments(units.map((u) => u.key));
      for (const u of units) {
        const keys: SegmentKey[] = [];
        for (const s of segments.get(u.id) ?? []) {
          if (s.sourceStart + s.count > u.logStartOffset) continue;
          if (s.epoch === u.epoch && u.runs.isOpen(s.sourceStart)) continue;
          keys.push({ unit: u.key, epoch: s.epoch, sourceStart: s.sourceStart });
        }
        tombstoned += keys.length;
        u.tombstoneSegments(keys);
      }
      await t.checkpointer.flush();
    }
    return { tombstoned };
  }

  close(): Promise<void> {
    return this.serial(async () => {
      if (this.closed) return;
      this.closed = true;
      for (const timer of this.timers) clearInterval(timer);
      await Promise.all([...this.units.values()].map((e) => this.stopEntry(e, "engine closed")));
      this.units.clear();
      await this.clusters.close();
      await this.messageLimits.close();
    });
  }
}

/** A change that a running unit cannot take in place. */
function needsRestart(have: UnitAssignment, want: UnitAssignment): boolean {
  const a = have.flow;
  const b = want.flow;
  return (
    have.epoch !== want.epoch ||
    have.remoteTopic !== want.remoteTopic ||
    a.name !== b.name ||
    a.sourceCluster !== b.sourceCluster ||
    a.targetCluster !== b.targetCluster ||
    a.naming !== b.naming ||
    a.provenanceHeader !== b.provenanceHeader
  );
}
