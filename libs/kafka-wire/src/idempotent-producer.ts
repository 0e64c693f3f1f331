import { delayAfter } from "@geo/backoff";
import {
  type CompressionCodecRegistry,
  encodeRecordBatch,
  RecordBatch,
  type RecordInput,
  type TimestampType,
} from "@geo/record-batch";
import { ApiKey } from "./api-keys";
import {
  decodeInitProducerIdResponse,
  encodeInitProducerIdRequest,
  INIT_PRODUCER_ID_MAX_VERSION,
  INIT_PRODUCER_ID_MIN_VERSION,
} from "./init-producer-id-protocol";
import { isRetriableKafkaError, isStaleMetadataError, KafkaErrorCode } from "./kafka-error-codes";
import {
  BrokerError,
  DeliveryTimeoutError,
  KafkaWireError,
  PartitionFailedError,
  RecordRejectedError,
  WireClosedError,
} from "./kafka-wire-error";
import {
  decodeProduceResponse,
  encodeProduceRequest,
  PRODUCE_MAX_VERSION,
  PRODUCE_MIN_VERSION,
  type ProduceResponsePartition,
} from "./produce-protocol";
import { asWireError, type KafkaWireClient } from "./wire-client";

export interface IdempotentProducerOptions {
  /** Default delivery deadline of a batch, from the call that queued it. Default 30 000 ms. */
  deliveryTimeoutMs?: number;
  /** Client-side timeout of one Produce request (capped by the batches' deadlines). Default: the client's. */
  requestTimeoutMs?: number;
  /**
   * Produce requests per partition awaiting a response, 1-5. Default 5, the most a broker's
   * duplicate detection covers (it remembers the last 5 batches of each producer and partition).
   */
  maxInFlightPerPartition?: number;
  /** A request holds at most one batch per partition, and stops growing past this size. Default 4 MiB. */
  maxRequestBytes?: number;
  /** First retry pause; doubles per attempt up to maxRetryBackoffMs. Default: the client's (100 ms). */
  retryBackoffMs?: number;
  /** Default 1000 ms. */
  maxRetryBackoffMs?: number;
  /**
   * How long a partition the target's metadata does not have is looked up again (metadata
   * refreshed every retry pause) before its batches are refused with UNKNOWN_TOPIC_OR_PARTITION.
   * A partition just added, or a topic just created, is missing from metadata fetched before.
   * Default 5000 ms.
   */
  unknownPartitionGraceMs?: number;
  /** Codecs for batches built from records (default gzip, snappy, lz4, zstd). */
  codecs?: CompressionCodecRegistry;
}

/** Records to encode into one batch (re-encoding path: compacted or partly consumed source batches). */
export interface RecordsInput {
  records: readonly RecordInput[];
  /** Codec id (see `CompressionType`); default none. */
  compression?: number;
  timestampType?: TimestampType;
}

/** A raw v2 batch (forwarded as is, only the producer fields re-stamped), a decoded one, or records. */
export type ProduceInput = Buffer | RecordBatch | RecordsInput;

export interface ProduceOptions {
  /**
   * Absolute deadline on the monotonic clock (`performance.now()` ms), or a function that
   * gives it. Past it the batch is not sent again and the partition fails with
   * {@link DeliveryTimeoutError}; no request carrying the batch waits beyond it either. A
   * function is asked again whenever the producer decides whether to send, re-send or give up
   * on the batch, so a deadline that moves forward (the agent passes its lease deadline, which
   * each renewal extends) keeps a batch that was not acknowledged retried under the same
   * producer id and sequence numbers: the broker's duplicate detection then answers for one
   * it did write with its original offset. A function that throws or returns NaN means the
   * deadline passed. The earlier of this and the delivery timeout applies.
   */
  deadline?: number | (() => number);
  /**
   * This call's delivery timeout, from now, instead of the producer's `deliveryTimeoutMs`.
   * `Infinity` leaves `deadline` alone to bound the batches.
   */
  deliveryTimeoutMs?: number;
}

export interface ProduceResult {
  /** Offset the target gave the batch's first record. */
  baseOffset: bigint;
  /** baseOffset + lastOffsetDelta: forwarded batches are contiguous, so record i is at baseOffset + i. */
  lastOffset: bigint;
  recordCount: number;
  /** -1n unless the topic uses LogAppendTime. */
  logAppendTime: bigint;
  logStartOffset: bigint;
}

export interface PartitionProducerState {
  producerId: bigint | null;
  producerEpoch: number;
  nextSequence: number;
  queued: number;
  inFlight: number;
  failed: KafkaWireError | null;
}

/**
 * Idempotent producer of ready-made record batches (acks=all). One producer id from
 * InitProducerId, a sequence counter per partition, up to `maxInFlightPerPartition`
 * pipelined requests per partition; requests to a broker carry one batch of each
 * partition that has one ready.
 *
 * Failures:
 * - retriable (leader moved, connection lost, request timed out, not enough replicas):
 *   the batch and every later batch of the partition are sent again, in order and with
 *   the same sequence numbers, so the broker's duplicate detection turns a batch that had
 *   in fact been written into a success carrying its original offset;
 * - OUT_OF_ORDER_SEQUENCE_NUMBER / UNKNOWN_PRODUCER_ID on a partition's oldest
 *   unacknowledged batch (the broker lost or expired the producer's state): the partition
 *   takes a fresh producer id and re-sends from sequence 0; nothing it re-sends can have
 *   been written, since the broker's own state says so;
 * - refused batches (too large, not authorised, topic missing, invalid timestamp):
 *   {@link RecordRejectedError}, not retriable;
 * - past the deadline: {@link DeliveryTimeoutError}. Until then a batch whose request timed
 *   out or failed on the way is retried as above, however long that takes; a deadline that
 *   moves (a lease) is looked at again before each attempt and caps each request's timeout.
 * After a non-retriable error or a delivery timeout the partition is failed: later
 * batches reject with {@link PartitionFailedError} until `resetPartition`, which waits for
 * requests in flight and gives the partition a fresh producer id. A batch's outcome is
 * only ever reported once the broker has answered for it or it can no longer be sent.
 */
export interface IdempotentProducer {
  /** Obtain the producer id now (otherwise the first batch does). */
  init(): Promise<{ producerId: bigint; producerEpoch: number }>;
  /** Queue one batch; resolves when the target acknowledged it. Calls for a partition keep their order. */
  send(
    topic: string,
    partition: number,
    batch: ProduceInput,
    options?: ProduceOptions,
  ): Promise<ProduceResult>;
  /** Queue batches in order; all results, or the first error (use `send` per batch to see each outcome). */
  produce(
    topic: string,
    partition: number,
    batches: readonly ProduceInput[],
    options?: ProduceOptions,
  ): Promise<ProduceResult[]>;
  /** Drop a partition's state (queued batches are rejected), after its in-flight requests settle. */
  resetPartition(topic: string, partition: number): Promise<void>;
  partitionState(topic: string, partition: number): PartitionProducerState | undefined;
  /** Reject queued batches, wait for in-flight requests. The client stays open. */
  close(): Promise<void>;
}

interface PidInfo {
  producerId: bigint;
  producerEpoch: number;
  gen: number;
}

type EntryState = "queued" | "inflight" | "retry" | "done";

interface Entry {
  p: PartitionState;
  raw: Buffer;
  recordCount: number;
  lastOffsetDelta: number;
  /** Fixed part of the deadline (the delivery timeout, a deadline given as a number). */
  deadline: number;
  /** The moving part, asked each time (see ProduceOptions.deadline); null when none. */
  movingDeadline: (() => number) | null;
  seq: number | null;
  producerId: bigint;
  producerEpoch: number;
  attempts: number;
  state: EntryState;
  settled: Promise<unknown>;
  resolve(r: ProduceResult): void;
  reject(e: Error): void;
}

interface PartitionState {
  topic: string;
  partition: number;
  key: string;
  pid: PidInfo | null;
  /** The producer id in use is burnt for this partition: take one newer than `pid.gen`. */
  needsNewPid: boolean;
  /** Newer than this generation when the state is new after a reset. */
  minGen: number;
  pidPending: boolean;
  nextSeq: number;
  /**
   * Whether the broker has acknowledged a batch of this partition under the current
   * producer id. Until then one batch at a time: a broker with no state for the producer
   * accepts any sequence, so a batch behind a refused first one would be written.
   */
  confirmed: boolean;
  queue: Entry[];
  /** Sent and not acknowledged, in sequence order (state inflight or retry). */
  inflight: Entry[];
  inflightNode: number | null;
  retrying: boolean;
  failed: KafkaWireError | null;
  backoffUntil: number;
  /** Since when the metadata says the partition does not exist (monotonic ms); null: it does. */
  missingSince: number | null;
}

const MAX_SEQ = 0x7fffffff;
const MiB = 1024 * 1024;

/** Kafka's sequence arithmetic: sequences wrap from int32 max to 0. */
export function incrementSequence(seq: number, count: number): number {
  return seq > MAX_SEQ - count ? count - (MAX_SEQ - seq) - 1 : seq + count;
}

// Refusals that sending the same bytes again cannot fix.
const REJECTED = new Set<number>([
  KafkaErrorCode.CORRUPT_MESSAGE,
  KafkaErrorCode.MESSAGE_TOO_LARGE,
  KafkaErrorCode.INVALID_TOPIC_EXCEPTION,
  KafkaErrorCode.RECORD_LIST_TOO_LARGE,
  KafkaErrorCode.INVALID_REQUIRED_ACKS,
  KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED,
  KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  KafkaErrorCode.INVALID_TIMESTAMP,
  KafkaErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  KafkaErrorCode.POLICY_VIOLATION,
  KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
  KafkaErrorCode.INVALID_RECORD,
]);

export function createIdempotentProducer(
  client: KafkaWireClient,
  options: IdempotentProducerOptions = {},
): IdempotentProducer {
  return new Producer(client, options);
}

class Producer implements IdempotentProducer {
  private readonly deliveryTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly maxRequestBytes: number;
  private readonly retryBackoffMs: number;
  private readonly maxRetryBackoffMs: number;
  private readonly unknownPartitionGraceMs: number;
  private readonly codecs: CompressionCodecRegistry | undefined;
  private readonly partitions = new Map<string, PartitionState>();
  /** Partitions reset since: their next state needs a producer id newer than this generation. */
  private readonly resetGens = new Map<string, number>();
  private pid: PidInfo | null = null;
  private pidFetch: Promise<void> | null = null;
  private pidGen = 0;
  private drainScheduled = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  private metadataRefreshing = false;
  private closed = false;

  constructor(
    private readonly client: KafkaWireClient,
    options: IdempotentProducerOptions,
  ) {
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? 30_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? client.requestTimeoutMs;
    const maxInFlight = options.maxInFlightPerPartition ?? 5;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 5) {
      throw new RangeError(
        `createIdempotentProducer: maxInFlightPerPartition must be 1-5, got ${maxInFlight}`,
      );
    }
    this.maxInFlight = maxInFlight;
    this.maxRequestBytes = options.maxRequestBytes ?? 4 * MiB;
    this.retryBackoffMs = options.retryBackoffMs ?? client.retryBackoffMs;
    this.maxRetryBackoffMs = options.maxRetryBackoffMs ?? 1000;
    this.unknownPartitionGraceMs = options.unknownPartitionGraceMs ?? 5000;
    this.codecs = options.codecs;
  }

  // ---- producer id ----

  async init(): Promise<{ producerId: bigint; producerEpoch: number }> {
    const info = await this.acquirePid(-1);
    return { producerId: info.producerId, producerEpoch: info.producerEpoch };
  }

  /** A producer id of a generation above `gen`, fetching one if the current is not. */
  private async acquirePid(gen: number): Promise<PidInfo> {
    for (;;) {
      if (this.closed) throw new WireClosedError("idempotent producer");
      if (this.pid !== null && this.pid.gen > gen) return this.pid;
      this.pidFetch ??= this.fetchPid().finally(() => {
        this.pidFetch = null;
      });
      await this.pidFetch;
    }
  }

  private async fetchPid(): Promise<void> {
    const res = await this.client.transport.send(null, {
      apiKey: ApiKey.InitProducerId,
      apiName: "InitProducerId",
      minVersion: INIT_PRODUCER_ID_MIN_VERSION,
      maxVersion: INIT_PRODUCER_ID_MAX_VERSION,
      // No transactional id: an idempotent producer. The timeout is ignored then.
      encode: () =>
        encodeInitProducerIdRequest({ transactionalId: null, transactionTimeoutMs: 60_000 }),
      decode: (_v, buf) => decodeInitProducerIdResponse(buf),
      throttleTimeMs: (r) => r.throttleTimeMs,
      timeoutMs: this.requestTimeoutMs,
    });
    if (res.errorCode !== KafkaErrorCode.NONE) throw new BrokerError(res.errorCode);
    this.pid = { producerId: res.producerId, producerEpoch: res.producerEpoch, gen: ++this.pidGen };
  }

  private obtainPid(p: PartitionState): void {
    if (p.pidPending) return;
    p.pidPending = true;
    const above = p.needsNewPid && p.pid !== null ? p.pid.gen : p.minGen;
    this.acquirePid(above).then(
      (info) => {
        p.pidPending = false;
        if (this.partitions.get(p.key) !== p || p.failed !== null) return;
        if (p.needsNewPid) {
          this.client.logger?.warn(
            { topic: p.topic, partition: p.partition, producerId: String(info.producerId) },
            "kafka-wire: partition restarts its sequence under a fresh producer id",
          );
        }
        p.pid = info;
        p.needsNewPid = false;
        p.nextSeq = 0;
        p.confirmed = false;
        this.scheduleDrain();
      },
      (e: unknown) => {
        p.pidPending = false;
        const error = asWireError(e);
        if (!error.retriable) {
          this.failPartition(p, error, true);
          return;
        }
        p.backoffUntil = performance.now() + this.retryBackoffMs;
        this.scheduleWake(p.backoffUntil);
      },
    );
  }

  // ---- queueing ----

  private toEntryFields(input: ProduceInput): {
    raw: Buffer;
    recordCount: number;
    lastOffsetDelta: number;
  } {
    let batch: RecordBatch;
    if (Buffer.isBuffer(input)) {
      batch = new RecordBatch(input);
    } else if (input instanceof RecordBatch) {
      batch = input;
    } else if (
      input !== null &&
      typeof input === "object" &&
      Array.isArray((input as RecordsInput).records)
    ) {
      const r = input as RecordsInput;
      const raw = encodeRecordBatch(
        {
          records: r.records,
          ...(r.compression === undefined ? {} : { compression: r.compression }),
          ...(r.timestampType === undefined ? {} : { timestampType: r.timestampType }),
        },
        this.codecs === undefined ? {} : { codecs: this.codecs },
      );
      return {
        raw,
        recordCount: r.records.length,
        lastOffsetDelta: new RecordBatch(raw).lastOffsetDelta,
      };
    } else {
      throw new TypeError("produce: a batch is a Buffer, a RecordBatch or { records }");
    }
    if (batch.magic !== 2)
      throw new TypeError(`produce: only v2 record batches can be produced (magic ${batch.magic})`);
    if (batch.raw.length !== batch.batchLength + 12) {
      throw new TypeError(
        `produce: the buffer holds ${batch.raw.length} bytes but its batch ${batch.batchLength + 12}`,
      );
    }
    if (batch.isControl)
      throw new TypeError("produce: control batches (transaction markers) cannot be produced");
    if (batch.recordCount < 1 || !batch.hasContiguousOffsets) {
      // Brokers refuse a batch whose count is not lastOffsetDelta + 1 (compacted source batches).
      throw new TypeError(
        `produce: batch at source offset ${batch.baseOffset} has ${batch.recordCount} records over ${batch.lastOffsetDelta + 1} offsets; re-encode it from its records`,
      );
    }
    return {
      raw: batch.raw,
      recordCount: batch.recordCount,
      lastOffsetDelta: batch.lastOffsetDelta,
    };
  }

  private state(topic: string, partition: number): PartitionState {
    const key = `${topic}\u0000${partition}`;
    let p = this.partitions.get(key);
    if (p === undefined) {
      p = {
        topic,
        partition,
        key,
        pid: null,
        needsNewPid: false,
        minGen: this.resetGens.get(key) ?? -1,
        pidPending: false,
        nextSeq: 0,
        confirmed: false,
        queue: [],
        inflight: [],
        inflightNode: null,
        retrying: false,
        failed: null,
        backoffUntil: 0,
        missingSince: null,
      };
      this.partitions.set(key, p);
    }
    return p;
  }

  send(
    topic: string,
    partition: number,
    batch: ProduceInput,
    options: ProduceOptions = {},
  ): Promise<ProduceResult> {
    return this.produce(topic, partition, [batch], options).then((r) => r[0]!);
  }

  produce(
    topic: string,
    partition: number,
    batches: readonly ProduceInput[],
    options: ProduceOptions = {},
  ): Promise<ProduceResult[]> {
    if (this.closed) return Promise.reject(new WireClosedError("idempotent producer"));
    if (
      typeof topic !== "string" ||
      topic.length === 0 ||
      !Number.isInteger(partition) ||
      partition < 0
    ) {
      return Promise.reject(
        new TypeError(`produce: invalid topic-partition ${String(topic)}-${partition}`),
      );
    }
    let fields: ReturnType<Producer["toEntryFields"]>[];
    try {
      // All validated before any is queued: a bad batch in the middle queues none.
      fields = batches.map((b) => this.toEntryFields(b));
    } catch (e) {
      return Promise.reject(e);
    }
    const timeoutMs = options.deliveryTimeoutMs ?? this.deliveryTimeoutMs;
    if (typeof timeoutMs !== "number" || !(timeoutMs >= 0)) {
      return Promise.reject(
        new RangeError(`produce: deliveryTimeoutMs must be at least 0, got ${String(timeoutMs)}`),
      );
    }
    const p = this.state(topic, partition);
    if (p.failed !== null)
      return Promise.reject(new PartitionFailedError(topic, partition, p.failed));
    const now = performance.now();
    const given = options.deadline;
    const movingDeadline = typeof given === "function" ? given : null;
    const deadline = Math.min(typeof given === "number" ? given : Infinity, now + timeoutMs);
    const promises = fields.map((f) => {
      let resolve!: (r: ProduceResult) => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<ProduceResult>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      const entry: Entry = {
        p,
        ...f,
        deadline,
        movingDeadline,
        seq: null,
        producerId: -1n,
        producerEpoch: -1,
        attempts: 0,
        state: "queued",
        settled: promise.catch(() => {}),
        resolve,
        reject,
      };
      p.queue.push(entry);
      return promise;
    });
    this.scheduleDrain();
    return Promise.all(promises);
  }

  // ---- sending ----

  private scheduleDrain(): void {
    if (this.drainScheduled || this.closed) return;
    this.drainScheduled = true;
    // setImmediate: batches queued in the same turn share requests.
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private scheduleWake(at: number): void {
    if (this.closed || at >= this.wakeAt) return;
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wakeAt = Infinity;
        this.drain();
      },
      Math.max(0, at - performance.now()),
    );
  }

  private drain(): void {
    if (this.closed) return;
    // Every wake-up still needed is registered again below; one for work that is gone
    // (say a deadline of a batch since acknowledged) must not keep the process alive.
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = Infinity;
    const now = performance.now();
    const metadata = this.client.metadata;
    const needMetadata = new Set<string>();
    const requests = new Map<number, { entries: Entry[]; bytes: number }[]>();
    for (const p of this.partitions.values()) {
      if (p.failed !== null || p.retrying || p.queue.length === 0) continue;
      const head = p.queue[0]!;
      if (deadlineOf(head) <= now) {
        this.failPartition(
          p,
          new DeliveryTimeoutError(
            p.topic,
            p.partition,
            `batch not acknowledged before its deadline (${head.attempts} attempts)`,
          ),
          true,
        );
        continue;
      }
      if (p.backoffUntil > now) {
        this.scheduleWake(p.backoffUntil);
        continue;
      }
      if (p.pid === null || p.needsNewPid) {
        this.obtainPid(p);
        continue;
      }
      const maxInFlight = p.confirmed ? this.maxInFlight : 1;
      if (p.inflight.length >= maxInFlight) continue;
      const leader = metadata.lookup(p.topic, p.partition);
      if (leader === undefined || metadata.isInvalidated(p.topic)) {
        // Unknown, or an error said the leader moved: wait for fresh metadata.
        needMetadata.add(p.topic);
        continue;
      }
      // Merely old: keep using it while a refresh runs.
      if (metadata.needsRefresh(p.topic, now)) needMetadata.add(p.topic);
      if (leader.kind === "missing") {
        p.missingSince ??= now;
        if (now - p.missingSince < this.unknownPartitionGraceMs) {
          // Metadata cached before the partition was added: look again after a pause.
          metadata.invalidate(p.topic);
          p.backoffUntil = now + this.retryBackoffMs;
          this.scheduleWake(p.backoffUntil);
          continue;
        }
        this.failPartition(
          p,
          new RecordRejectedError(
            leader.errorCode,
            { topic: p.topic, partition: p.partition },
            {
              detail: "the target cluster's metadata has no such topic-partition",
            },
          ),
          true,
        );
        continue;
      }
      p.missingSince = null;
      if (leader.kind === "unavailable") {
        metadata.invalidate(p.topic);
        p.backoffUntil = now + this.retryBackoffMs;
        this.scheduleWake(p.backoffUntil);
        continue;
      }
      // Batches of a partition in flight to another broker first settle: the new leader
      // would only answer OUT_OF_ORDER_SEQUENCE_NUMBER to what follows them.
      if (p.inflight.length > 0 && p.inflightNode !== leader.nodeId) continue;
      let slots = requests.get(leader.nodeId);
      if (slots === undefined) {
        slots = [];
        requests.set(leader.nodeId, slots);
      }
      // Slot i is the i-th request to this broker in this round; a partition's batches go
      // to increasing slots, one per request, so they reach the broker in sequence order.
      let slot = 0;
      while (p.queue.length > 0 && p.inflight.length < maxInFlight) {
        const e = p.queue[0]!;
        if (deadlineOf(e) <= now) break; // failed at the next drain, after what is in flight
        while (
          slot < slots.length &&
          slots[slot]!.entries.length > 0 &&
          slots[slot]!.bytes + e.raw.length > this.maxRequestBytes
        ) {
          slot++;
        }
        if (slot === slots.length) slots.push({ entries: [], bytes: 0 });
        const s = slots[slot]!;
        s.entries.push(e);
        s.bytes += e.raw.length;
        slot++;
        p.queue.shift();
        if (e.seq === null) {
          e.seq = p.nextSeq;
          e.producerId = p.pid.producerId;
          e.producerEpoch = p.pid.producerEpoch;
          p.nextSeq = incrementSequence(p.nextSeq, e.recordCount);
        }
        e.state = "inflight";
        e.attempts++;
        p.inflight.push(e);
        p.inflightNode = leader.nodeId;
      }
    }
    // Whatever still waits must fail at its deadline even if nothing else happens (a moving
    // deadline is looked at again then, and the wake-up moves with it).
    for (const p of this.partitions.values()) {
      // A retrying partition wakes when its in-flight requests settled (afterOutcome).
      if (p.failed === null && !p.retrying && p.queue.length > 0) {
        this.scheduleWake(deadlineOf(p.queue[0]!));
      }
    }
    if (needMetadata.size > 0) this.refreshMetadata(needMetadata);
    for (const [nodeId, slots] of requests) {
      for (const s of slots) this.sendRequest(nodeId, s.entries);
    }
  }

  private refreshMetadata(topics: Set<string>): void {
    if (this.metadataRefreshing) return;
    this.metadataRefreshing = true;
    this.client.metadata.refresh(topics).then(
      () => {
        this.metadataRefreshing = false;
        this.scheduleDrain();
      },
      (e: unknown) => {
        this.metadataRefreshing = false;
        this.client.logger?.debug({ err: e }, "kafka-wire: metadata refresh failed");
        this.scheduleWake(performance.now() + this.retryBackoffMs);
      },
    );
  }

  private sendRequest(nodeId: number, entries: Entry[]): void {
    const now = performance.now();
    let deadline = Infinity;
    for (const e of entries) deadline = Math.min(deadline, deadlineOf(e));
    // The broker's wait for replicas and our wait for the answer both end by the deadline.
    const timeoutMs = Math.max(1, Math.floor(Math.min(this.requestTimeoutMs, deadline - now)));
    const byTopic = new Map<string, Entry[]>();
    for (const e of entries) {
      let list = byTopic.get(e.p.topic);
      if (list === undefined) {
        list = [];
        byTopic.set(e.p.topic, list);
      }
      list.push(e);
    }
    const request = {
      acks: -1,
      timeoutMs,
      topics: [...byTopic].map(([topic, list]) => ({
        topic,
        partitions: list.map((e) => ({
          partition: e.p.partition,
          batch: e.raw,
          stamp: {
            // Brokers refuse a client batch whose base offset is not 0 (INVALID_RECORD), and
            // a fetched batch carries its source offset; a producer also sends no leader epoch.
            baseOffset: 0n,
            partitionLeaderEpoch: -1,
            producerId: e.producerId,
            producerEpoch: e.producerEpoch,
            baseSequence: e.seq!,
            // Committed transactional source batches go out as plain idempotent ones.
            isTransactional: false,
          },
        })),
      })),
    };
    this.client.transport
      .send(nodeId, {
        apiKey: ApiKey.Produce,
        apiName: "Produce",
        minVersion: PRODUCE_MIN_VERSION,
        maxVersion: PRODUCE_MAX_VERSION,
        encode: () => encodeProduceRequest(request),
        decode: (v, buf) => decodeProduceResponse(v, buf),
        throttleTimeMs: (r) => r.throttleTimeMs,
        timeoutMs,
      })
      .then(
        (response) => {
          const byKey = new Map<string, ProduceResponsePartition>();
          for (const t of response.topics) {
            for (const part of t.partitions) byKey.set(`${t.topic}\u0000${part.partition}`, part);
          }
          for (const e of entries) {
            const part = byKey.get(e.p.key);
            if (part === undefined) {
              this.onError(
                e,
                new BrokerError(KafkaErrorCode.UNKNOWN_SERVER_ERROR, e.p, { retriable: true }),
              );
            } else if (part.errorCode === KafkaErrorCode.NONE) {
              this.onSuccess(e, part);
            } else {
              this.onBrokerError(e, part, nodeId);
            }
          }
        },
        (err: unknown) => {
          const error = asWireError(err);
          for (const e of entries) {
            if (error.retriable) this.client.metadata.invalidate(e.p.topic);
            this.onError(e, error);
          }
        },
      );
  }

  // ---- outcomes ----

  private onSuccess(e: Entry, part: ProduceResponsePartition): void {
    const p = e.p;
    removeEntry(p.inflight, e);
    e.state = "done";
    if (e.producerId === p.pid?.producerId) p.confirmed = true;
    e.resolve({
      baseOffset: part.baseOffset,
      lastOffset: part.baseOffset + BigInt(e.lastOffsetDelta),
      recordCount: e.recordCount,
      logAppendTime: part.logAppendTime,
      logStartOffset: part.logStartOffset,
    });
    this.afterOutcome(p);
  }

  private onBrokerError(e: Entry, part: ProduceResponsePartition, nodeId: number): void {
    const p = e.p;
    const code = part.errorCode;
    const loc = { topic: p.topic, partition: p.partition, broker: String(nodeId) };
    if (REJECTED.has(code)) {
      this.onError(
        e,
        new RecordRejectedError(code, loc, {
          brokerMessage: part.errorMessage,
          recordErrors: part.recordErrors,
        }),
      );
      return;
    }
    if (
      code === KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER ||
      code === KafkaErrorCode.UNKNOWN_PRODUCER_ID
    ) {
      // On the oldest unacknowledged batch, the broker's producer state is behind ours (lost
      // or expired): nothing from here on was written, so a fresh producer id is safe. On
      // a later batch it only echoes an earlier batch's failure: re-sending in order fixes it.
      if (p.inflight[0] === e && p.failed === null) p.needsNewPid = true;
      this.onError(
        e,
        new BrokerError(code, loc, { brokerMessage: part.errorMessage, retriable: true }),
      );
      return;
    }
    if (isStaleMetadataError(code)) this.client.metadata.invalidate(p.topic);
    this.onError(
      e,
      new BrokerError(code, loc, {
        brokerMessage: part.errorMessage,
        retriable: isRetriableKafkaError(code),
      }),
    );
  }

  private onError(e: Entry, error: KafkaWireError): void {
    const p = e.p;
    if (p.failed !== null || this.closed) {
      removeEntry(p.inflight, e);
      e.state = "done";
      e.reject(
        p.failed === null ? error : new PartitionFailedError(p.topic, p.partition, p.failed),
      );
      this.afterOutcome(p);
      return;
    }
    if (!error.retriable) {
      removeEntry(p.inflight, e);
      e.state = "done";
      e.reject(error);
      this.failPartition(p, error);
      this.afterOutcome(p);
      return;
    }
    e.state = "retry";
    p.retrying = true;
    this.client.logger?.debug(
      { topic: p.topic, partition: p.partition, seq: e.seq, err: error.message },
      "kafka-wire: produce will be retried",
    );
    this.afterOutcome(p);
  }

  /** Once nothing of a retrying partition is in flight, queue its failed batches again, in order. */
  private afterOutcome(p: PartitionState): void {
    if (p.inflight.some((x) => x.state === "inflight")) return;
    p.inflightNode = null;
    if (!p.retrying) {
      this.scheduleDrain();
      return;
    }
    p.retrying = false;
    const again = p.inflight;
    p.inflight = [];
    if (p.failed !== null || this.closed) {
      for (const e of again) {
        if (e.state === "done") continue;
        e.state = "done";
        e.reject(
          p.failed === null
            ? new WireClosedError("idempotent producer")
            : new PartitionFailedError(p.topic, p.partition, p.failed),
        );
      }
      return;
    }
    let attempts = 0;
    for (const e of again) {
      e.state = "queued";
      attempts = Math.max(attempts, e.attempts);
    }
    p.queue.unshift(...again);
    if (p.needsNewPid) {
      // Re-stamped from sequence 0 once the fresh producer id arrives.
      for (const e of p.queue) e.seq = null;
    }
    p.backoffUntil =
      performance.now() +
      delayAfter(attempts, {
        initialMs: Math.max(1, this.retryBackoffMs),
        maxMs: Math.max(1, this.retryBackoffMs, this.maxRetryBackoffMs),
      });
    this.scheduleWake(p.backoffUntil);
  }

  /** `aboutHead`: the error is about the first queued batch, which gets it as is. */
  private failPartition(p: PartitionState, error: KafkaWireError, aboutHead = false): void {
    if (p.failed !== null) return;
    p.failed = error;
    const queued = p.queue;
    p.queue = [];
    queued.forEach((e, i) => {
      e.state = "done";
      // The batches behind the one that failed learn why they stopped.
      e.reject(
        i === 0 && aboutHead ? error : new PartitionFailedError(p.topic, p.partition, error),
      );
    });
    // Batches waiting to be re-sent will not be.
    if (!p.inflight.some((x) => x.state === "inflight")) {
      for (const e of p.inflight) {
        e.state = "done";
        e.reject(new PartitionFailedError(p.topic, p.partition, error));
      }
      p.inflight = [];
      p.retrying = false;
    }
    this.client.logger?.warn(
      { topic: p.topic, partition: p.partition, code: error.code, err: error.message },
      "kafka-wire: partition stopped",
    );
  }

  // ---- lifecycle ----

  partitionState(topic: string, partition: number): PartitionProducerState | undefined {
    const p = this.partitions.get(`${topic}\u0000${partition}`);
    if (p === undefined) return undefined;
    return {
      producerId: p.pid?.producerId ?? null,
      producerEpoch: p.pid?.producerEpoch ?? -1,
      nextSequence: p.nextSeq,
      queued: p.queue.length,
      inFlight: p.inflight.length,
      failed: p.failed,
    };
  }

  async resetPartition(topic: string, partition: number): Promise<void> {
    const key = `${topic}\u0000${partition}`;
    const p = this.partitions.get(key);
    if (p === undefined) return;
    if (p.failed === null) {
      this.failPartition(
        p,
        new KafkaWireError("PARTITION_RESET", `${topic}-${partition} was reset`, {
          retriable: true,
          topic,
          partition,
        }),
      );
    }
    while (p.inflight.length > 0) await Promise.all(p.inflight.map((e) => e.settled));
    if (this.partitions.get(key) === p) {
      this.partitions.delete(key);
      // Its sequence numbers under the current producer id are spent: the next state takes a newer one.
      this.resetGens.set(key, Math.max(p.pid?.gen ?? -1, p.minGen, this.pid?.gen ?? -1));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    const closedError = new WireClosedError("idempotent producer");
    const waits: Promise<unknown>[] = [];
    for (const p of this.partitions.values()) {
      for (const e of p.queue) {
        e.state = "done";
        e.reject(closedError);
      }
      p.queue = [];
      p.inflight = p.inflight.filter((e) => {
        if (e.state !== "retry") return true;
        e.state = "done";
        e.reject(closedError);
        return false;
      });
      for (const e of p.inflight) waits.push(e.settled);
    }
    await Promise.all(waits);
  }
}

/** The batch's deadline now: the earlier of its fixed and its moving part. */
function deadlineOf(e: Entry): number {
  if (e.movingDeadline === null) return e.deadline;
  let moving: number;
  try {
    moving = e.movingDeadline();
  } catch {
    return -Infinity;
  }
  return Number.isNaN(moving) ? -Infinity : Math.min(e.deadline, moving);
}

function removeEntry(list: Entry[], e: Entry): void {
  const i = list.indexOf(e);
  if (i >= 0) list.splice(i, 1);
}
