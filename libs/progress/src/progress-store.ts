import { createBackoff, sleep } from "@geo/backoff";
import { GEO_TOPICS } from "@geo/config";
import {
  createIdempotentProducer,
  createPartitionFetcher,
  type IdempotentProducer,
  type KafkaWireClient,
  KafkaWireError,
  OffsetOutOfRangeError,
  type PartitionFetcher,
} from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import type { Epoch } from "@geo/positions";
import type { KafkaRecord, RecordInput } from "@geo/record-batch";
import {
  decodeProgressRecord,
  decodeSegmentRecord,
  encodeProgressValue,
  encodeSegmentValue,
  ProgressFormatError,
  progressKey,
  segmentKey,
} from "./record-format";
import {
  type OffsetMapSegment,
  type SegmentKey,
  type UnitKey,
  type UnitProgress,
  unitId,
} from "./unit";

export interface ProgressStoreOptions {
  /** Share the engine's producer to the target (acks=all, idempotent); otherwise the store makes its own and closes it. */
  producer?: IdempotentProducer;
  /** Default `__geo.progress`. */
  progressTopic?: string;
  /** Default `__geo.offset-map`. */
  offsetMapTopic?: string;
  /** Deadline of one write. Default 30 000 ms. */
  deliveryTimeoutMs?: number;
  /** Give up a scan (load) after this long. Default 60 000 ms. */
  loadTimeoutMs?: number;
  /** Records per produced batch are split so that a batch stays under this size. Default 512 KiB. */
  maxBatchBytes?: number;
  logger?: Logger;
}

export interface ProgressTombstone {
  unit: UnitKey;
  epoch: Epoch;
}

/**
 * Progress and offset-map records of one target cluster. Writes go to partition 0 of each topic
 * (the topics have one partition) with acks=all and are serialized per topic, so a write that
 * resolved is durable and ordered after every earlier one.
 */
export interface ProgressStore {
  /** The highest-EPOCH record per unit (not the latest written), for `units` or all. */
  load(units?: readonly UnitKey[]): Promise<Map<string, UnitProgress>>;
  /** Every live record per unit (one per epoch not yet tombstoned), ascending epoch. */
  loadAll(units?: readonly UnitKey[]): Promise<Map<string, UnitProgress[]>>;
  /** Write one progress record (acks=all). */
  write(progress: UnitProgress): Promise<void>;
  /** Progress records and tombstones of older epochs' keys, in one batch (split when large). */
  writeMany(
    progress: readonly UnitProgress[],
    tombstones?: readonly ProgressTombstone[],
  ): Promise<void>;
  /** Live offset-map segments per unit, sorted by epoch then sourceStart. */
  loadSegments(units?: readonly UnitKey[]): Promise<Map<string, OffsetMapSegment[]>>;
  /** Segment records (a segment rewritten with a larger count replaces itself) and tombstones. */
  writeSegments(
    segments: readonly OffsetMapSegment[],
    tombstones?: readonly SegmentKey[],
  ): Promise<void>;
  readonly progressTopic: string;
  readonly offsetMapTopic: string;
  /** Waits for writes under way; closes the producer if the store made it. */
  close(): Promise<void>;
}

const KiB = 1024;

export function createProgressStore(
  target: KafkaWireClient,
  options: ProgressStoreOptions = {},
): ProgressStore {
  return new Store(target, options);
}

/**
 * What the coordinator needs for a grant's minimum epoch: the highest epoch recorded per unit in
 * the target's progress topic (read-only; no producer is created). Accepts a client or an
 * already loaded map.
 */
export async function highestEpochs(
  source: KafkaWireClient | ProgressStore | ReadonlyMap<string, UnitProgress>,
  units?: readonly UnitKey[],
  options: Pick<ProgressStoreOptions, "progressTopic" | "loadTimeoutMs" | "logger"> = {},
): Promise<Map<string, Epoch>> {
  let loaded: ReadonlyMap<string, UnitProgress>;
  if (source instanceof Map) loaded = source;
  else if (isStore(source)) loaded = await source.load(units);
  else {
    const fetcher = createPartitionFetcher(source as KafkaWireClient, { maxWaitMs: 100 });
    try {
      loaded = await loadProgress(
        source as KafkaWireClient,
        fetcher,
        options.progressTopic ?? GEO_TOPICS.progress,
        units,
        options.loadTimeoutMs ?? 60_000,
        options.logger,
      ).then(highest);
    } finally {
      await fetcher.close();
    }
  }
  const out = new Map<string, Epoch>();
  for (const [id, p] of loaded) out.set(id, p.epoch);
  return out;
}

function isStore(x: unknown): x is ProgressStore {
  return typeof (x as ProgressStore).loadAll === "function";
}

function highest(all: Map<string, UnitProgress[]>): Map<string, UnitProgress> {
  const out = new Map<string, UnitProgress>();
  for (const [id, list] of all) {
    const top = list[list.length - 1];
    if (top !== undefined) out.set(id, top);
  }
  return out;
}

class Store implements ProgressStore {
  readonly progressTopic: string;
  readonly offsetMapTopic: string;
  private readonly producer: IdempotentProducer;
  private readonly ownProducer: boolean;
  private readonly fetcher: PartitionFetcher;
  private readonly deliveryTimeoutMs: number;
  private readonly loadTimeoutMs: number;
  private readonly maxBatchBytes: number;
  private readonly logger: Logger | undefined;
  /** Per topic: the tail of the write chain. */
  private readonly chains = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly client: KafkaWireClient,
    options: ProgressStoreOptions,
  ) {
    this.progressTopic = options.progressTopic ?? GEO_TOPICS.progress;
    this.offsetMapTopic = options.offsetMapTopic ?? GEO_TOPICS.offsetMap;
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? 30_000;
    this.loadTimeoutMs = options.loadTimeoutMs ?? 60_000;
    this.maxBatchBytes = options.maxBatchBytes ?? 512 * KiB;
    this.logger = options.logger;
    this.ownProducer = options.producer === undefined;
    this.producer =
      options.producer ??
      createIdempotentProducer(client, { deliveryTimeoutMs: this.deliveryTimeoutMs });
    this.fetcher = createPartitionFetcher(client, { maxWaitMs: 100 });
  }

  async load(units?: readonly UnitKey[]): Promise<Map<string, UnitProgress>> {
    return highest(await this.loadAll(units));
  }

  loadAll(units?: readonly UnitKey[]): Promise<Map<string, UnitProgress[]>> {
    return loadProgress(
      this.client,
      this.fetcher,
      this.progressTopic,
      units,
      this.loadTimeoutMs,
      this.logger,
    );
  }

  async loadSegments(units?: readonly UnitKey[]): Promise<Map<string, OffsetMapSegment[]>> {
    const wanted = units === undefined ? undefined : new Set(units.map(unitId));
    const live = new Map<string, OffsetMapSegment>();
    await scanTopic(
      this.client,
      this.fetcher,
      this.offsetMapTopic,
      this.loadTimeoutMs,
      (r) => {
        const { key, segment } = decodeSegmentRecord(r.key, r.value);
        if (wanted !== undefined && !wanted.has(unitId(key.unit))) return;
        const k = segmentKey(key).toString("latin1");
        if (segment === null) live.delete(k);
        else live.set(k, segment);
      },
      this.logger,
    );
    const out = new Map<string, OffsetMapSegment[]>();
    for (const s of live.values()) {
      const id = unitId(s.unit);
      let list = out.get(id);
      if (list === undefined) {
        list = [];
        out.set(id, list);
      }
      list.push(s);
    }
    for (const list of out.values()) {
      list.sort((a, b) =>
        a.epoch !== b.epoch ? cmp(a.epoch, b.epoch) : cmp(a.sourceStart, b.sourceStart),
      );
    }
    return out;
  }

  write(progress: UnitProgress): Promise<void> {
    return this.writeMany([progress]);
  }

  writeMany(
    progress: readonly UnitProgress[],
    tombstones: readonly ProgressTombstone[] = [],
  ): Promise<void> {
    const time = BigInt(Date.now());
    const records: RecordInput[] = [
      ...progress.map((p) => ({
        timestamp: time,
        key: progressKey(p, p.epoch),
        value: encodeProgressValue(p),
      })),
      ...tombstones.map((t) => ({
        timestamp: time,
        key: progressKey(t.unit, t.epoch),
        value: null,
      })),
    ];
    return this.append(this.progressTopic, records);
  }

  writeSegments(
    segments: readonly OffsetMapSegment[],
    tombstones: readonly SegmentKey[] = [],
  ): Promise<void> {
    const time = BigInt(Date.now());
    const records: RecordInput[] = [
      ...segments.map((s) => ({
        timestamp: time,
        key: segmentKey(s),
        value: encodeSegmentValue(s),
      })),
      ...tombstones.map((t) => ({ timestamp: time, key: segmentKey(t), value: null })),
    ];
    return this.append(this.offsetMapTopic, records);
  }

  /** Appends records to partition 0 of `topic` after every earlier append to it settled. */
  private append(topic: string, records: RecordInput[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error("progress store is closed"));
    if (records.length === 0) return Promise.resolve();
    const previous = this.chains.get(topic) ?? Promise.resolve();
    const run = previous.then(() => this.send(topic, records));
    const tail = run.catch(() => {});
    this.chains.set(topic, tail);
    void tail.then(() => {
      if (this.chains.get(topic) === tail) this.chains.delete(topic);
    });
    return run;
  }

  private async send(topic: string, records: RecordInput[]): Promise<void> {
    const batches: RecordInput[][] = [];
    let current: RecordInput[] = [];
    let bytes = 0;
    for (const r of records) {
      const size = (r.key?.length ?? 0) + (r.value?.length ?? 0) + 16;
      if (current.length > 0 && bytes + size > this.maxBatchBytes) {
        batches.push(current);
        current = [];
        bytes = 0;
      }
      current.push(r);
      bytes += size;
    }
    if (current.length > 0) batches.push(current);
    try {
      await this.producer.produce(
        topic,
        0,
        batches.map((b) => ({ records: b })),
        { deadline: performance.now() + this.deliveryTimeoutMs },
      );
    } catch (e) {
      // The producer stops a partition after a failure; start it afresh for the next write.
      await this.producer.resetPartition(topic, 0).catch(() => {});
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.chains.values()]);
    await this.fetcher.close();
    if (this.ownProducer) await this.producer.close();
  }
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function loadProgress(
  client: KafkaWireClient,
  fetcher: PartitionFetcher,
  topic: string,
  units: readonly UnitKey[] | undefined,
  timeoutMs: number,
  logger: Logger | undefined,
): Promise<Map<string, UnitProgress[]>> {
  const wanted = units === undefined ? undefined : new Set(units.map(unitId));
  // Live records by key (a later record with the same key replaces it, a tombstone deletes it):
  // exactly what compaction would leave.
  const live = new Map<string, UnitProgress>();
  await scanTopic(
    client,
    fetcher,
    topic,
    timeoutMs,
    (r) => {
      const { unit, epoch, progress } = decodeProgressRecord(r.key, r.value);
      const id = unitId(unit);
      if (wanted !== undefined && !wanted.has(id)) return;
      const k = `${id}\u0000${epoch}`;
      if (progress === null) live.delete(k);
      else live.set(k, progress);
    },
    logger,
  );
  const out = new Map<string, UnitProgress[]>();
  for (const p of live.values()) {
    const id = unitId(p);
    let list = out.get(id);
    if (list === undefined) {
      list = [];
      out.set(id, list);
    }
    list.push(p);
  }
  for (const list of out.values()) list.sort((a, b) => cmp(a.epoch, b.epoch));
  return out;
}

/**
 * Reads every partition of `topic` from its log start to its end as of the call, handing each
 * record to `onRecord`. A missing topic reads as empty. Records this version cannot decode are
 * logged and skipped (a newer writer's format must not stop an older reader).
 */
export async function scanTopic(
  client: KafkaWireClient,
  fetcher: PartitionFetcher,
  topic: string,
  timeoutMs: number,
  onRecord: (r: KafkaRecord) => void,
  logger?: Logger,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const backoff = createBackoff({ initialMs: 100, maxMs: 2000 });
  for (;;) {
    try {
      await client.metadata.refresh([topic]);
      break;
    } catch (e) {
      if (performance.now() > deadline) throw e;
      await sleep(backoff.next());
    }
  }
  const first = client.metadata.lookup(topic, 0);
  if (first?.kind === "missing") return;
  const partitions = Array.from(
    { length: client.metadata.partitionCount(topic) ?? 1 },
    (_, i) => i,
  );
  const remaining = () => Math.max(1000, deadline - performance.now());
  const starts = await client.listOffsets(topic, partitions, "earliest", {
    timeoutMs: remaining(),
  });
  const ends = await client.listOffsets(topic, partitions, "latest", { timeoutMs: remaining() });
  let skipped = 0;
  for (const partition of partitions) {
    let offset = starts[partition]!.offset;
    const end = ends[partition]!.offset;
    backoff.reset();
    while (offset < end) {
      const [r] = await fetcher.fetch([{ topic, partition, offset, maxBytes: 4 * 1024 * 1024 }]);
      if (r!.error !== null) {
        const err = r!.error;
        if (err instanceof OffsetOutOfRangeError && err.logStartOffset > offset) {
          // Retention or compaction cleaned past us while reading: nothing there to read.
          offset = err.logStartOffset;
          continue;
        }
        const retriable = err instanceof KafkaWireError ? err.retriable : err.retriable;
        if (!retriable || performance.now() > deadline) throw err;
        await sleep(backoff.next());
        continue;
      }
      backoff.reset();
      for (const b of r!.batches) {
        for (const rec of b.records()) {
          if (rec.offset < offset || rec.offset >= end) continue;
          try {
            onRecord(rec);
          } catch (e) {
            if (!(e instanceof ProgressFormatError)) throw e;
            skipped++;
          }
        }
      }
      if (r!.nextOffset === offset && performance.now() > deadline) {
        throw new Error(`reading ${topic}-${partition} made no progress at offset ${offset}`);
      }
      offset = r!.nextOffset;
    }
  }
  if (skipped > 0) {
    logger?.warn({ topic, skipped }, "progress: skipped records in an unknown format");
  }
}
