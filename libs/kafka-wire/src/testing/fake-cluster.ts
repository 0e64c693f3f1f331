// Test support: an in-memory Kafka behind the WireTransport seam. It parses the requests
// this package encodes and answers with response bytes, so the fetcher and producer are
// tested through their real codecs. Idempotence follows Kafka's ProducerStateManager in
// the parts that matter here: per producer and partition, the last sequence, duplicate
// detection over the last 5 batches, OUT_OF_ORDER_SEQUENCE_NUMBER for gaps and
// UNKNOWN_PRODUCER_ID for a producer it has no state for and a sequence other than 0.
import {
  decodeRecordBatches,
  encodeRecordBatch,
  RecordBatch,
  rewriteBatchHeader,
} from "@geo/record-batch";
import { ApiKey } from "../api-keys";
import { incrementSequence } from "../index";
import { KafkaErrorCode } from "../kafka-error-codes";
import { ConnectionError, RequestTimeoutError, WireClosedError } from "../kafka-wire-error";
import { WireReader } from "../wire-reader";
import type { BrokerEndpoint, WireRequest, WireTransport } from "../wire-transport";
import { WireWriter } from "../wire-writer";

export interface FakeBatch {
  baseOffset: bigint;
  raw: Buffer;
}

interface ProducerEntry {
  lastSeq: number;
  recent: { firstSeq: number; lastSeq: number; baseOffset: bigint }[];
}

export interface FakePartition {
  leader: number;
  leaderEpoch: number;
  batches: FakeBatch[];
  logStartOffset: bigint;
  nextOffset: bigint;
  /** Read_committed readers stop here when set. */
  lastStableOffset: bigint | null;
  producers: Map<bigint, ProducerEntry>;
  aborted: { producerId: bigint; firstOffset: bigint; lastOffset: bigint }[];
  /** Open transactions: producer id → first offset. */
  openTxns: Map<bigint, bigint>;
}

/** What a fault hook may do to one partition of a Produce request. */
export type ProduceFault =
  | { kind: "error"; code: number; message?: string }
  /** Append, then drop the connection before answering. */
  | { kind: "append-then-disconnect" }
  /** Drop the connection without appending. */
  | { kind: "disconnect" };

export interface ProduceContext {
  nodeId: number;
  topic: string;
  partition: number;
  producerId: bigint;
  baseSequence: number;
  recordCount: number;
  /** Produce requests seen so far for this partition, this one included. */
  attempt: number;
}

export interface RequestLogEntry {
  nodeId: number;
  apiName: string;
  partitions: {
    topic: string;
    partition: number;
    baseSequence?: number;
    producerId?: bigint;
    fetchOffset?: bigint;
  }[];
}

const r2 = (w: WireWriter, v: bigint) => w.int64(v);

export class FakeCluster implements WireTransport {
  readonly topics = new Map<string, FakePartition[]>();
  readonly nodes = new Set<number>();
  readonly down = new Set<number>();
  readonly requests: RequestLogEntry[] = [];
  brokersSeen: readonly BrokerEndpoint[] = [];
  produceFault: ((ctx: ProduceContext) => ProduceFault | undefined) | undefined;
  /**
   * Kafka 2.5+ accepts any sequence from a producer it has no state for (the default here);
   * older brokers answer UNKNOWN_PRODUCER_ID unless the sequence is 0.
   */
  unknownProducerAnySequence = false;
  /** Delay before answering, per request (ms). */
  latencyMs = 0;
  private nextProducerId = 1000n;
  private produceAttempts = new Map<string, number>();
  closed = false;

  constructor(nodeIds: number[] = [1]) {
    for (const n of nodeIds) this.nodes.add(n);
  }

  createTopic(topic: string, partitions: number, leaders: number[] = [...this.nodes]): void {
    const list: FakePartition[] = [];
    for (let i = 0; i < partitions; i++) {
      list.push({
        leader: leaders[i % leaders.length]!,
        leaderEpoch: 0,
        batches: [],
        logStartOffset: 0n,
        nextOffset: 0n,
        lastStableOffset: null,
        producers: new Map(),
        aborted: [],
        openTxns: new Map(),
      });
    }
    this.topics.set(topic, list);
  }

  partition(topic: string, partition: number): FakePartition {
    const p = this.topics.get(topic)?.[partition];
    if (p === undefined) throw new Error(`fake cluster has no ${topic}-${partition}`);
    return p;
  }

  moveLeader(topic: string, partition: number, nodeId: number): void {
    const p = this.partition(topic, partition);
    p.leader = nodeId;
    p.leaderEpoch++;
  }

  /** Append a batch as a producer would have (offsets assigned here). */
  append(topic: string, partition: number, raw: Buffer): bigint {
    const p = this.partition(topic, partition);
    const base = p.nextOffset;
    const stored = rewriteBatchHeader(raw, {
      baseOffset: base,
      partitionLeaderEpoch: p.leaderEpoch,
    });
    const b = new RecordBatch(stored);
    if (b.isTransactional && !b.isControl && !p.openTxns.has(b.producerId))
      p.openTxns.set(b.producerId, base);
    p.batches.push({ baseOffset: base, raw: stored });
    p.nextOffset = b.nextOffset;
    return base;
  }

  /** Write a COMMIT or ABORT marker for a producer's open transaction. */
  endTransaction(topic: string, partition: number, producerId: bigint, commit: boolean): void {
    const p = this.partition(topic, partition);
    const first = p.openTxns.get(producerId);
    const key = Buffer.alloc(4);
    key.writeInt16BE(0, 0);
    key.writeInt16BE(commit ? 1 : 0, 2);
    const value = Buffer.alloc(6);
    value.writeInt16BE(0, 0);
    value.writeInt32BE(0, 2);
    const markerOffset = p.nextOffset;
    this.append(
      topic,
      partition,
      encodeRecordBatch({
        producerId,
        producerEpoch: 0,
        isTransactional: true,
        isControl: true,
        records: [{ timestamp: 0n, key, value }],
      }),
    );
    if (!commit && first !== undefined)
      p.aborted.push({ producerId, firstOffset: first, lastOffset: markerOffset });
    p.openTxns.delete(producerId);
  }

  /** Records of a partition as offsets and values, for assertions. */
  values(topic: string, partition: number): { offset: bigint; value: string | null }[] {
    const out: { offset: bigint; value: string | null }[] = [];
    for (const b of this.partition(topic, partition).batches) {
      const batch = new RecordBatch(b.raw);
      if (batch.isControl) continue;
      for (const r of batch.records())
        out.push({ offset: r.offset, value: r.value?.toString() ?? null });
    }
    return out;
  }

  updateBrokers(brokers: readonly BrokerEndpoint[]): void {
    this.brokersSeen = brokers;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async send<T>(nodeId: number | null, req: WireRequest<T>): Promise<T> {
    if (this.closed) throw new WireClosedError("fake cluster");
    const node = nodeId ?? [...this.nodes].find((n) => !this.down.has(n));
    if (node === undefined || !this.nodes.has(node) || this.down.has(node)) {
      throw new ConnectionError("fake broker down", { broker: String(nodeId) });
    }
    const version = req.maxVersion;
    const body = req.encode(version);
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    else await Promise.resolve();
    let response: Buffer;
    switch (req.apiKey) {
      case ApiKey.Metadata:
        response = this.metadata(body);
        break;
      case ApiKey.InitProducerId:
        this.requests.push({ nodeId: node, apiName: "InitProducerId", partitions: [] });
        response = new WireWriter()
          .int32(0)
          .int16(0)
          .int64(this.nextProducerId++)
          .int16(0)
          .finish();
        break;
      case ApiKey.Produce:
        response = this.produce(node, version, body);
        break;
      case ApiKey.Fetch:
        response = this.fetch(node, body);
        break;
      case ApiKey.ListOffsets:
        response = this.listOffsets(node, version, body);
        break;
      default:
        throw new Error(`fake cluster: unsupported api ${req.apiName}`);
    }
    return req.decode(version, response);
  }

  private metadata(body: Buffer): Buffer {
    const r = new WireReader(body, "Metadata request");
    const topics = r.array((r) => r.string());
    const w = new WireWriter();
    w.int32(0);
    w.array([...this.nodes], (w, n) =>
      w
        .int32(n)
        .string("fake")
        .int32(9000 + n)
        .string(null),
    );
    w.string("fake-cluster").int32([...this.nodes][0] ?? -1);
    w.array(topics, (w, t) => {
      const parts = this.topics.get(t);
      w.int16(parts === undefined ? KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION : 0)
        .string(t)
        .bool(false);
      w.array(parts ?? [], (w, p) => {
        const i = parts!.indexOf(p);
        w.int16(0).int32(i).int32(p.leader).int32(p.leaderEpoch);
        w.array([p.leader], (w, n) => w.int32(n));
        w.array([p.leader], (w, n) => w.int32(n));
        w.array([], () => {});
      });
      w.int32(0);
    });
    w.int32(0);
    return w.finish();
  }

  private produce(nodeId: number, version: number, body: Buffer): Buffer {
    const r = new WireReader(body, "Produce request");
    r.nullableString();
    r.int16();
    r.int32();
    const topics = r.array((r) => ({
      topic: r.string(),
      partitions: r.array((r) => ({ partition: r.int32(), records: r.nullableBytes()! })),
    }));
    const log: RequestLogEntry = { nodeId, apiName: "Produce", partitions: [] };
    this.requests.push(log);
    let disconnect: "before" | "after" | null = null;
    const results: {
      topic: string;
      parts: { partition: number; code: number; base: bigint; message: string | null }[];
    }[] = [];
    for (const t of topics) {
      const parts: { partition: number; code: number; base: bigint; message: string | null }[] = [];
      for (const { partition, records } of t.partitions) {
        const batches = decodeRecordBatches(records); // verifies the CRC the producer stamped
        if (batches.length !== 1)
          throw new Error(`fake cluster: ${batches.length} batches in one partition`);
        const batch = batches[0]!;
        log.partitions.push({
          topic: t.topic,
          partition,
          baseSequence: batch.baseSequence,
          producerId: batch.producerId,
        });
        const key = `${t.topic}-${partition}`;
        const attempt = (this.produceAttempts.get(key) ?? 0) + 1;
        this.produceAttempts.set(key, attempt);
        const fault = this.produceFault?.({
          nodeId,
          topic: t.topic,
          partition,
          producerId: batch.producerId,
          baseSequence: batch.baseSequence,
          recordCount: batch.recordCount,
          attempt,
        });
        if (fault?.kind === "disconnect") {
          disconnect = "before";
          continue;
        }
        if (fault?.kind === "error") {
          parts.push({ partition, code: fault.code, base: -1n, message: fault.message ?? null });
          continue;
        }
        const out = this.appendIdempotent(nodeId, t.topic, partition, batch);
        parts.push({ partition, code: out.code, base: out.base, message: null });
        if (fault?.kind === "append-then-disconnect") disconnect = "after";
      }
      results.push({ topic: t.topic, parts });
    }
    if (disconnect !== null)
      throw new ConnectionError("fake broker closed the connection", { broker: String(nodeId) });
    const w = new WireWriter();
    w.array(results, (w, t) => {
      w.string(t.topic).array(t.parts, (w, p) => {
        w.int32(p.partition).int16(p.code);
        r2(w, p.base);
        r2(w, -1n);
        if (version >= 5) r2(w, 0n);
        if (version >= 8) w.array([], () => {}).string(p.message);
      });
    });
    w.int32(0);
    return w.finish();
  }

  private appendIdempotent(
    nodeId: number,
    topic: string,
    partition: number,
    batch: RecordBatch,
  ): { code: number; base: bigint } {
    const parts = this.topics.get(topic);
    const p = parts?.[partition];
    if (p === undefined) return { code: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, base: -1n };
    if (p.leader !== nodeId) return { code: KafkaErrorCode.NOT_LEADER_OR_FOLLOWER, base: -1n };
    if (!batch.hasContiguousOffsets) return { code: KafkaErrorCode.INVALID_RECORD, base: -1n };
    // As UnifiedLog.analyzeAndValidateRecords: a client's v2 batch starts at offset 0.
    if (batch.baseOffset !== 0n) return { code: KafkaErrorCode.INVALID_RECORD, base: -1n };
    if (batch.isTransactional) return { code: KafkaErrorCode.INVALID_TXN_STATE, base: -1n };
    const firstSeq = batch.baseSequence;
    const lastSeq = incrementSequence(firstSeq, batch.recordCount - 1);
    const state = p.producers.get(batch.producerId);
    if (state !== undefined) {
      const dup = state.recent.find((x) => x.firstSeq === firstSeq && x.lastSeq === lastSeq);
      if (dup !== undefined) return { code: 0, base: dup.baseOffset };
      if (firstSeq !== incrementSequence(state.lastSeq, 1)) {
        return { code: KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, base: -1n };
      }
    } else if (firstSeq !== 0 && !this.unknownProducerAnySequence) {
      return { code: KafkaErrorCode.UNKNOWN_PRODUCER_ID, base: -1n };
    }
    const base = this.append(topic, partition, batch.raw);
    const entry = state ?? { lastSeq: -1, recent: [] };
    entry.lastSeq = lastSeq;
    entry.recent.push({ firstSeq, lastSeq, baseOffset: base });
    if (entry.recent.length > 5) entry.recent.shift();
    p.producers.set(batch.producerId, entry);
    return { code: 0, base };
  }

  /** Forget every producer's state (as retention or expiry would). */
  forgetProducers(topic: string, partition: number): void {
    this.partition(topic, partition).producers.clear();
  }

  private fetch(nodeId: number, body: Buffer): Buffer {
    const r = new WireReader(body, "Fetch request");
    r.int32();
    r.int32();
    r.int32();
    const maxBytes = r.int32();
    const isolation = r.int8();
    r.int32();
    r.int32();
    const topics = r.array((r) => ({
      topic: r.string(),
      partitions: r.array((r) => ({
        partition: r.int32(),
        currentLeaderEpoch: r.int32(),
        fetchOffset: r.int64(),
        logStartOffset: r.int64(),
        maxBytes: r.int32(),
      })),
    }));
    const log: RequestLogEntry = { nodeId, apiName: "Fetch", partitions: [] };
    this.requests.push(log);
    let budget = maxBytes;
    let first = true;
    const w = new WireWriter();
    w.int32(0).int16(0).int32(0);
    w.array(topics, (w, t) => {
      w.string(t.topic).array(t.partitions, (w, q) => {
        log.partitions.push({ topic: t.topic, partition: q.partition, fetchOffset: q.fetchOffset });
        const p = this.topics.get(t.topic)?.[q.partition];
        const header = (code: number, hw = -1n, lso = -1n, lstart = -1n) =>
          w.int32(q.partition).int16(code).int64(hw).int64(lso).int64(lstart);
        if (p === undefined) {
          header(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION).int32(-1).int32(-1).int32(-1);
          return;
        }
        if (p.leader !== nodeId) {
          header(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER).int32(-1).int32(-1).int32(-1);
          return;
        }
        if (q.currentLeaderEpoch >= 0 && q.currentLeaderEpoch < p.leaderEpoch) {
          header(KafkaErrorCode.FENCED_LEADER_EPOCH).int32(-1).int32(-1).int32(-1);
          return;
        }
        if (q.fetchOffset < p.logStartOffset || q.fetchOffset > p.nextOffset) {
          header(KafkaErrorCode.OFFSET_OUT_OF_RANGE).int32(-1).int32(-1).int32(-1);
          return;
        }
        const lso = lastStable(p);
        const limit = isolation === 1 ? lso : p.nextOffset;
        const chunks: Buffer[] = [];
        let size = 0;
        let cap = Math.min(q.maxBytes, budget);
        for (const b of p.batches) {
          const last = new RecordBatch(b.raw).lastOffset;
          if (last < q.fetchOffset) continue;
          if (b.baseOffset >= limit) break;
          if (size + b.raw.length > cap) {
            if (size === 0 && first) {
              cap = b.raw.length; // KIP-74: the first batch of the response always comes whole
            } else {
              if (size === 0) chunks.push(b.raw.subarray(0, Math.max(0, cap))); // a cut-off batch
              break;
            }
          }
          chunks.push(b.raw);
          size += b.raw.length;
        }
        const records = Buffer.concat(chunks);
        if (records.length > 0) first = false;
        budget -= records.length;
        const end = q.fetchOffset + 1_000_000n;
        const aborted =
          isolation === 1
            ? p.aborted.filter((a) => a.lastOffset >= q.fetchOffset && a.firstOffset < end)
            : null;
        header(0, p.nextOffset, lso, p.logStartOffset);
        w.array(aborted, (w, a) => w.int64(a.producerId).int64(a.firstOffset));
        w.int32(-1).bytes(records);
      });
    });
    return w.finish();
  }

  private listOffsets(nodeId: number, version: number, body: Buffer): Buffer {
    const r = new WireReader(body, "ListOffsets request");
    r.int32();
    const isolation = r.int8();
    const topics = r.array((r) => ({
      topic: r.string(),
      partitions: r.array((r) => ({
        partition: r.int32(),
        epoch: version >= 4 ? r.int32() : -1,
        timestamp: r.int64(),
      })),
    }));
    this.requests.push({ nodeId, apiName: "ListOffsets", partitions: [] });
    const w = new WireWriter();
    w.int32(0);
    w.array(topics, (w, t) => {
      w.string(t.topic).array(t.partitions, (w, q) => {
        const p = this.topics.get(t.topic)?.[q.partition];
        let code = 0;
        let offset = -1n;
        if (p === undefined) code = KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        else if (p.leader !== nodeId) code = KafkaErrorCode.NOT_LEADER_OR_FOLLOWER;
        else if (q.timestamp === -2n) offset = p.logStartOffset;
        else if (q.timestamp === -1n) offset = isolation === 1 ? lastStable(p) : p.nextOffset;
        w.int32(q.partition).int16(code).int64(-1n).int64(offset);
        if (version >= 4) w.int32(p?.leaderEpoch ?? -1);
      });
    });
    return w.finish();
  }
}

function lastStable(p: FakePartition): bigint {
  if (p.lastStableOffset !== null) return p.lastStableOffset;
  let lso = p.nextOffset;
  for (const first of p.openTxns.values()) if (first < lso) lso = first;
  return lso;
}

/** A request timeout as the kafkajs transport reports it, for fault hooks that need one. */
export const fakeTimeout = () => new RequestTimeoutError("fake timeout");
