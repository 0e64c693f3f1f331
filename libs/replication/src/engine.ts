import { createBackoff } from "@geo/backoff";
import type { ClusterConfig } from "@geo/config";
import { CodedError } from "@geo/errors";
import { type ClusterAdmin, createClusterAdmin, kafkaClientOptions } from "@geo/kafka";
import {
  createIdempotentProducer,
  createPartitionFetcher,
  createWireClient,
  type IdempotentProducer,
  type IsolationLevelName,
  type KafkaWireClient,
  type PartitionFetcher,
} from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import { Registry } from "@geo/metrics";
import {
  createProgressStore,
  ensureProgressTopics,
  type ProgressStore,
  type SegmentKey,
  type UnitKey,
  type UnitProgress,
  unitId,
} from "@geo/progress";
import { BatchLoader } from "./batch-loader";
import { createBatchTraces } from "./batch-traces";
import { Checkpointer } from "./checkpointer";
import { createEngineMetrics, type EngineMetrics } from "./engine-metrics";
import { countResumeDuplicates } from "./resume-duplicates";
import { SourceReader } from "./source-reader";
import { describeMaxMessageBytes, TopicLimits } from "./topic-limits";
import { originatedIn } from "./transform";
import type {
  ReplicationEngine,
  ReplicationEngineOptions,
  UnitAssignment,
  UnitStatus,
} from "./types";
import { Unit, type UnitContext } from "./unit-runner";

const KiB = 1024;
const MiB = 1024 * KiB;

/** A flow names a cluster the engine was not given. Not retriable. */
export class UnknownClusterError extends CodedError<"UNKNOWN_CLUSTER"> {
  constructor(message: string) {
    super("UNKNOWN_CLUSTER", message);
  }
}

type OffsetsLoader = BatchLoader<
  { topic: string; partition: number; spec: "earliest" | "latest" },
  bigint
>;

/** ListOffsets of the partitions asked for in one turn of the event loop: one request per topic. */
function offsetsLoader(client: KafkaWireClient, isolationLevel: IsolationLevelName): OffsetsLoader {
  return new BatchLoader(async (keys) => {
    const groups = new Map<
      string,
      { topic: string; spec: "earliest" | "latest"; partitions: number[] }
    >();
    for (const k of keys) {
      const g = `${k.spec}\u0000${k.topic}`;
      let e = groups.get(g);
      if (e === undefined) {
        e = { topic: k.topic, spec: k.spec, partitions: [] };
        groups.set(g, e);
      }
      if (!e.partitions.includes(k.partition)) e.partitions.push(k.partition);
    }
    const found = new Map<string, bigint>();
    await Promise.all(
      [...groups.values()].map(async (g) => {
        const listed = await client.listOffsets(g.topic, g.partitions, g.spec, {
          timeoutMs: 10_000,
          isolationLevel,
        });
        for (const o of listed) {
          found.set(`${g.spec}\u0000${g.topic}\u0000${o.partition}`, o.offset);
        }
      }),
    );
    return keys.map((k) => found.get(`${k.spec}\u0000${k.topic}\u0000${k.partition}`)!);
  });
}

/** How long a start waits for the max.message.bytes check before the unit runs without it. */
const LIMITS_CHECK_WAIT_MS = 5000;

interface SourceContext {
  alias: string;
  client: KafkaWireClient;
  ownClient: boolean;
  fetcher: PartitionFetcher;
  reader: SourceReader;
  offsets: OffsetsLoader;
}

interface ClusterLimits {
  admin: ClusterAdmin;
  limits: TopicLimits;
}

interface TargetContext {
  alias: string;
  cluster: ClusterConfig;
  client: KafkaWireClient;
  ownClient: boolean;
  store: ProgressStore;
  checkpointer: Checkpointer;
  producers: Map<string, IdempotentProducer>;
  ensured: Promise<void> | null;
  progress: BatchLoader<UnitKey, UnitProgress[]>;
  /** End offsets of remote partitions, whoever wrote them. */
  ends: OffsetsLoader;
  /** Reads remote partitions' tails to count what a resumed unit writes again. */
  tailFetcher: PartitionFetcher | null;
}

interface UnitEntry {
  unit: Unit;
  /** The start procedure (resolves when it began the unit or gave up). */
  starting: Promise<void>;
  /** Resolves after the first start attempt. */
  firstAttempt: Promise<void>;
  cancelStart: () => void;
}

/**
 * The agent's data path: replicates the units it is assigned from their source partitions to the
 * remote partitions, with progress and offset-map records in the target. See README.md.
 */
export function createReplicationEngine(options: ReplicationEngineOptions): ReplicationEngine {
  return new Engine(options);
}

class Engine implements ReplicationEngine {
  private readonly units = new Map<string, UnitEntry>();
  private readonly sources = new Map<string, SourceContext>();
  private readonly targets = new Map<string, TargetContext>();
  private readonly metrics: EngineMetrics;
  private readonly ctx: UnitContext;
  private readonly logger: Logger;
  private readonly maxBufferedBytes: number;
  private readonly clientId: string;
  private readonly limits = new Map<string, ClusterLimits>();
  /** Flow and source topic → the limits last logged as mismatched, to log each change once. */
  private readonly mismatchLogged = new Map<string, string>();
  /** Cluster and topic whose config could not be read, to log that once until it can. */
  private readonly limitsUnreadable = new Set<string>();
  private readonly topicConfigRefreshMs: number;
  private buffered = 0;
  private serialQueue: Promise<unknown> = Promise.resolve();
  private cleanupTimer: NodeJS.Timeout | undefined;
  private limitsTimer: NodeJS.Timeout | undefined;
  private stoppedLagTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: ReplicationEngineOptions) {
    if (!options.agentId) throw new TypeError("createReplicationEngine: agentId is required");
    this.logger = options.logger.child({ agent: options.agentId });
    this.metrics = createEngineMetrics(options.metrics ?? new Registry());
    this.maxBufferedBytes = options.maxBufferedBytes ?? 64 * MiB;
    this.clientId =
      options.clientId ?? `geo-agent-${options.agentId}`.replace(/[^A-Za-z0-9._-]/g, "_");
    const leaseGuard = options.leaseGuard ?? (() => true);
    this.ctx = {
      agentId: options.agentId,
      logger: this.logger,
      metrics: this.metrics,
      leaseGuard,
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
    const cleanupMs = options.offsetMapCleanupIntervalMs ?? 10 * 60_000;
    if (cleanupMs > 0) {
      this.cleanupTimer = setInterval(() => {
        this.cleanOffsetMap().catch((e: unknown) =>
          this.logger.warn({ err: (e as Error).message }, "replication: offset-map cleanup failed"),
        );
      }, cleanupMs);
      this.cleanupTimer.unref();
    }
    const stoppedLagMs = options.stoppedLagRefreshMs ?? 2000;
    if (stoppedLagMs > 0) {
      this.stoppedLagTimer = setInterval(() => this.refreshStoppedLag(), stoppedLagMs);
      this.stoppedLagTimer.unref();
    }
    this.topicConfigRefreshMs = options.topicConfigRefreshMs ?? 10 * 60_000;
    if (this.topicConfigRefreshMs > 0) {
      this.limitsTimer = setInterval(() => this.refreshLimits(), this.topicConfigRefreshMs);
      this.limitsTimer.unref();
    }
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
      for (const s of this.sources.values()) s.reader.schedule();
    }
  }

  // ---- clusters ----

  private cluster(alias: string): ClusterConfig {
    const c = this.options.clusters[alias];
    if (c === undefined) {
      throw new UnknownClusterError(
        `unknown cluster "${alias}" (known: ${Object.keys(this.options.clusters).join(", ") || "none"})`,
      );
    }
    return c;
  }

  private client(alias: string): { client: KafkaWireClient; own: boolean } {
    const given = this.options.wireClients?.[alias];
    if (given !== undefined) return { client: given, own: false };
    for (const s of this.sources.values()) {
      if (s.alias === alias) return { client: s.client, own: false };
    }
    for (const t of this.targets.values()) {
      if (t.alias === alias) return { client: t.client, own: false };
    }
    const cluster = this.cluster(alias);
    const logger = this.logger.child({ cluster: alias });
    const client = createWireClient(
      kafkaClientOptions(cluster, { clientId: this.clientId, logger }),
      { logger },
    );
    return { client, own: true };
  }

  private source(alias: string): SourceContext {
    let s = this.sources.get(alias);
    if (s !== undefined) return s;
    this.cluster(alias);
    const { client, own } = this.client(alias);
    const fetcher = createPartitionFetcher(client, {
      isolationLevel: "read_committed",
      maxWaitMs: this.options.fetchMaxWaitMs ?? 500,
      partitionMaxBytes: this.ctx.partitionMaxBytes,
    });
    const reader = new SourceReader(fetcher, {
      maxWaitMs: this.options.fetchMaxWaitMs ?? 500,
      requestMaxBytes: () =>
        Math.max(256 * KiB, Math.min(16 * MiB, this.maxBufferedBytes - this.buffered)),
      onUnexpected: (e) =>
        this.logger.error({ err: e }, "replication: unexpected error handling a fetch result"),
    });
    s = {
      alias,
      client,
      // The target context may have created the client first: whoever created it closes it.
      ownClient: own,
      fetcher,
      reader,
      offsets: offsetsLoader(client, "read_committed"),
    };
    this.sources.set(alias, s);
    return s;
  }

  private target(alias: string): TargetContext {
    let t = this.targets.get(alias);
    if (t !== undefined) return t;
    const cluster = this.cluster(alias);
    const { client, own } = this.client(alias);
    const logger = this.logger.child({ cluster: alias });
    const store = createProgressStore(client, {
      deliveryTimeoutMs: this.ctx.deliveryTimeoutMs,
      logger,
    });
    const checkpointer = new Checkpointer(store, {
      intervalMs: this.options.progressIntervalMs ?? 1000,
      maxBackoffMs: this.ctx.maxRetryBackoffMs,
      logger,
      onError: () => this.metrics.progressWriteErrors.inc({ cluster: alias }),
    });
    t = {
      alias,
      cluster,
      client,
      ownClient: own,
      store,
      checkpointer,
      producers: new Map(),
      ensured: null,
      progress: new BatchLoader(async (units) => {
        const all = await store.loadAll(units);
        return units.map((u) => all.get(unitId(u)) ?? []);
      }),
      ends: offsetsLoader(client, "read_uncommitted"),
      tailFetcher: null,
    };
    this.targets.set(alias, t);
    return t;
  }

  private ensureTopics(t: TargetContext): Promise<void> {
    if (this.options.ensureInternalTopics === false) return Promise.resolve();
    t.ensured ??= ensureProgressTopics(t.cluster, {
      clientId: this.clientId,
      logger: this.logger,
    }).then(
      () => {},
      (e: unknown) => {
        t.ensured = null;
        throw e;
      },
    );
    return t.ensured;
  }

  // ---- topic limits ----

  private topicLimits(alias: string): TopicLimits {
    let l = this.limits.get(alias);
    if (l === undefined) {
      const admin = createClusterAdmin(this.cluster(alias), {
        clientId: this.clientId,
        logger: this.logger.child({ cluster: alias }),
      });
      l = { admin, limits: new TopicLimits(describeMaxMessageBytes(admin, 10_000)) };
      this.limits.set(alias, l);
    }
    return l.limits;
  }

  /**
   * Compares the source topic's and the remote topic's effective max.message.bytes and tells
   * the unit: a source that accepts larger batches than the target is reported before a batch
   * is refused. Never rejects: a config that cannot be read leaves the unit as it is.
   */
  private async checkMessageLimits(unit: Unit): Promise<void> {
    if (this.topicConfigRefreshMs <= 0) return;
    const flow = unit.assignment.flow;
    const read = async (alias: string, topic: string) => {
      const key = `${alias}\u0000${topic}`;
      try {
        const bytes = await this.topicLimits(alias).maxMessageBytes(topic);
        this.limitsUnreadable.delete(key);
        return bytes;
      } catch (e) {
        if (!this.limitsUnreadable.has(key)) {
          this.limitsUnreadable.add(key);
          this.logger.warn(
            { flow: flow.name, cluster: alias, topic, err: (e as Error).message },
            "replication: cannot read the topic's max.message.bytes; a mismatch between source and remote topic goes unreported until it can",
          );
        }
        return undefined;
      }
    };
    const [source, target] = await Promise.all([
      read(flow.sourceCluster, unit.topic),
      read(flow.targetCluster, unit.remoteTopic),
    ]);
    if (source === undefined || target === undefined) return;
    const mismatch = unit.setMessageLimits(source, target);
    // The limits belong to topics: one line per flow and topic, not per partition.
    const key = `${flow.name}\u0000${unit.topic}`;
    const logged = this.mismatchLogged.get(key);
    const context = {
      flow: flow.name,
      topic: unit.topic,
      remoteTopic: unit.remoteTopic,
      sourceMaxMessageBytes: source,
      targetMaxMessageBytes: target,
    };
    if (mismatch && logged !== `${source}/${target}`) {
      this.mismatchLogged.set(key, `${source}/${target}`);
      this.logger.warn(
        context,
        "replication: the source topic accepts larger batches than its remote topic; the first one above the target's max.message.bytes will be refused and stop its unit",
      );
    } else if (!mismatch && logged !== undefined) {
      this.mismatchLogged.delete(key);
      this.logger.info(context, "replication: the remote topic's max.message.bytes now suffices");
    }
  }

  /** Units in error fetch no more: their source end is read here, so their lag stays true. */
  private refreshStoppedLag(): void {
    for (const { unit } of this.units.values()) {
      if (unit.state !== "error") continue;
      const source = this.sources.get(unit.assignment.flow.sourceCluster);
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

  private refreshLimits(): void {
    for (const l of this.limits.values()) l.limits.refresh();
    for (const e of this.units.values()) {
      if (e.unit.isActive) void this.checkMessageLimits(e.unit);
    }
  }

  private producer(t: TargetContext, flow: string): IdempotentProducer {
    // One producer per flow and target: units of different flows that write the same remote
    // partition (identity naming from two sources) keep separate sequences and failures.
    let p = t.producers.get(flow);
    if (p === undefined) {
      p = createIdempotentProducer(t.client, {
        deliveryTimeoutMs: this.ctx.deliveryTimeoutMs,
        maxInFlightPerPartition: this.options.maxInFlightPerPartition,
        maxRequestBytes: this.options.maxProduceRequestBytes,
      });
      t.producers.set(flow, p);
    }
    return p;
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
    const unit = new Unit({ ...a, unit: { ...a.unit }, flow: { ...a.flow } }, this.ctx);
    let cancel = () => {};
    let firstDone!: () => void;
    const firstAttempt = new Promise<void>((resolve) => {
      firstDone = resolve;
    });
    const entry: UnitEntry = {
      unit,
      firstAttempt,
      starting: Promise.resolve(),
      cancelStart: () => cancel(),
    };
    entry.starting = (async () => {
      const backoff = createBackoff({
        initialMs: Math.max(1, this.ctx.retryBackoffMs),
        maxMs: Math.max(1, this.ctx.retryBackoffMs, this.ctx.maxRetryBackoffMs),
      });
      for (let attempt = 0; !unit.isStopping && !this.closed; attempt++) {
        try {
          const flow = unit.assignment.flow;
          const src = this.source(flow.sourceCluster);
          const tgt = this.target(flow.targetCluster);
          const limitsChecked = this.checkMessageLimits(unit);
          await this.ensureTopics(tgt);
          const previous = await tgt.progress.load(unit.key);
          const top = previous[previous.length - 1];
          const position =
            top !== undefined
              ? top.nextSourceOffset
              : await src.offsets.load({
                  topic: unit.topic,
                  partition: unit.partition,
                  spec: flow.startFrom,
                });
          const remoteEnd = await this.remoteEnd(tgt, unit, top);
          await settledWithin(limitsChecked, LIMITS_CHECK_WAIT_MS);
          const began = await unit.begin(
            {
              reader: src.reader,
              producer: this.producer(tgt, flow.name),
              checkpointer: tgt.checkpointer,
            },
            position,
            previous,
            remoteEnd,
          );
          if (began && top !== undefined && remoteEnd >= 0n && flow.naming !== "prefix") {
            void this.countResumeDuplicates(unit, src, tgt, top, remoteEnd);
          }
          return;
        } catch (e) {
          if (e instanceof UnknownClusterError) {
            unit.state = "error";
            unit.reason = e.message;
            return;
          }
          unit.reason = `starting: ${(e as Error)?.message ?? String(e)}`;
          this.logger.warn(
            { unit: unit.id, err: unit.reason, attempt },
            "replication: unit start failed; will retry",
          );
        } finally {
          firstDone();
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoff.next());
          cancel = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    })();
    this.units.set(unit.id, entry);
    return entry;
  }

  /**
   * The remote partition's end offset before a resumed unit writes, to measure what it writes
   * again. A prefix-named remote partition has this unit as its one writer: the records past the
   * last progress are the duplicates. An identity-named one may hold other producers' records:
   * its tail is matched against the source (countResumeDuplicates). -1n when not read.
   */
  private async remoteEnd(
    tgt: TargetContext,
    unit: Unit,
    top: UnitProgress | undefined,
  ): Promise<bigint> {
    if (top === undefined || top.lastTargetOffset < 0n) return -1n;
    try {
      return await tgt.ends.load({
        topic: unit.remoteTopic,
        partition: unit.partition,
        spec: "latest",
      });
    } catch (e) {
      this.logger.debug(
        { unit: unit.id, err: (e as Error).message },
        "replication: could not read the remote partition's end; resume duplicates not measured",
      );
      return -1n;
    }
  }

  /** Counts, in the background, the copies a resumed unit writes again (see resume-duplicates). */
  private async countResumeDuplicates(
    unit: Unit,
    src: SourceContext,
    tgt: TargetContext,
    top: UnitProgress,
    remoteEnd: bigint,
  ): Promise<void> {
    tgt.tailFetcher ??= createPartitionFetcher(tgt.client, {
      isolationLevel: "read_uncommitted",
      maxWaitMs: 0,
    });
    const target = Buffer.from(unit.assignment.flow.targetCluster, "utf8");
    const loopCheck =
      unit.assignment.flow.provenanceHeader || unit.assignment.flow.naming !== "prefix";
    try {
      const counted = await countResumeDuplicates({
        target: {
          fetcher: tgt.tailFetcher,
          topic: unit.remoteTopic,
          from: top.lastTargetOffset + 1n,
          end: remoteEnd,
        },
        source: { fetcher: src.fetcher, topic: unit.topic, from: top.nextSourceOffset },
        partition: unit.partition,
        copied: (record) => !loopCheck || !originatedIn(record, target),
      });
      if (counted === undefined) {
        this.logger.info(
          { unit: unit.id, tail: String(remoteEnd - top.lastTargetOffset - 1n) },
          "replication: the remote tail after the last progress is too long to count what is written again; resumeDuplicates stays unknown (-1)",
        );
        return;
      }
      unit.recordResumeDuplicates(top, counted, remoteEnd);
    } catch (e) {
      this.logger.warn(
        { unit: unit.id, err: (e as Error).message },
        "replication: could not count the records written again on resume; resumeDuplicates stays unknown (-1)",
      );
    }
  }

  private async stopEntry(entry: UnitEntry, reason: string): Promise<void> {
    entry.unit.markStopping();
    entry.cancelStart();
    await entry.starting;
    await entry.unit.stop(reason);
  }

  release(unit: UnitKey): Promise<{ nextSourceOffset: bigint }> {
    return this.serial(async () => {
      const id = unitId(unit);
      const entry = this.units.get(id);
      if (entry === undefined) throw new Error(`release: unit ${id} is not assigned here`);
      await this.stopEntry(entry, "released");
      this.units.delete(id);
      const u = entry.unit;
      return { nextSourceOffset: u.persistedNext >= 0n ? u.persistedNext : u.ackedNext };
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
    for (const t of this.targets.values()) {
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
      if (this.cleanupTimer !== undefined) clearInterval(this.cleanupTimer);
      if (this.limitsTimer !== undefined) clearInterval(this.limitsTimer);
      if (this.stoppedLagTimer !== undefined) clearInterval(this.stoppedLagTimer);
      await Promise.all([...this.units.values()].map((e) => this.stopEntry(e, "engine closed")));
      this.units.clear();
      for (const s of this.sources.values()) {
        await s.reader.close();
        await s.fetcher.close();
      }
      for (const t of this.targets.values()) {
        await t.checkpointer.close();
        await Promise.all([...t.producers.values()].map((p) => p.close()));
        await t.tailFetcher?.close();
        await t.store.close();
      }
      const clients = new Set<KafkaWireClient>();
      for (const s of this.sources.values()) if (s.ownClient) clients.add(s.client);
      for (const t of this.targets.values()) if (t.ownClient) clients.add(t.client);
      await Promise.all([...clients].map((c) => c.close()));
      await Promise.all([...this.limits.values()].map((l) => l.admin.close()));
    });
  }
}

/** Waits for `p`, but no longer than `ms`. */
async function settledWithin(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
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
