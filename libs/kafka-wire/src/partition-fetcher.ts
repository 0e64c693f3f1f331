import {
  type AbortedTransaction,
  type CompressionCodecRegistry,
  decodeRecordBatches,
  filterAborted,
  type RecordBatch,
  RecordBatchError,
} from "@geo/record-batch";
import { ApiKey, IsolationLevel } from "./api-keys";
import {
  decodeFetchResponse,
  encodeFetchRequest,
  FETCH_VERSION,
  type FetchResponsePartition,
} from "./fetch-protocol";
import { isStaleMetadataError, KafkaErrorCode } from "./kafka-error-codes";
import {
  BrokerError,
  KafkaWireError,
  OffsetOutOfRangeError,
  WireClosedError,
} from "./kafka-wire-error";
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from "./list-offsets-protocol";
import {
  asWireError,
  type IsolationLevelName,
  isolationLevelCode,
  type KafkaWireClient,
  type ListedOffset,
  type ListOffsetsOptions,
  listOffsetsOf,
  type OffsetSpec,
} from "./wire-client";

export interface PartitionFetcherOptions {
  /** Default read_committed: aborted transactions are dropped, nothing past the last stable offset is read. */
  isolationLevel?: IsolationLevelName;
  /** How long the broker may hold a fetch that has less than minBytes. Default 500 ms. */
  maxWaitMs?: number;
  /** Default 1. */
  minBytes?: number;
  /** Per request (per broker). Default 16 MiB. */
  maxBytes?: number;
  /** Per partition, unless a position says otherwise. Default 1 MiB (Java's max.partition.fetch.bytes). */
  partitionMaxBytes?: number;
  /** Check batch CRCs (default true). */
  verifyCrc?: boolean;
  /** Codecs for `RecordBatch.records()` (default gzip, snappy, lz4, zstd). */
  codecs?: CompressionCodecRegistry;
  /** KIP-392 rack id sent to brokers. Default "" (none). */
  rackId?: string;
}

/** One partition to read from, at an offset the caller chose. */
export interface FetchPosition {
  topic: string;
  partition: number;
  offset: bigint;
  /** Overrides the fetcher's partitionMaxBytes. */
  maxBytes?: number;
}

export interface FetchCallOptions {
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
}

export interface PartitionFetchResult {
  topic: string;
  partition: number;
  fetchOffset: bigint;
  /**
   * Data batches in offset order, raw bytes untouched: aborted transactional batches
   * (read_committed) and control batches are already removed. The first one can start
   * before `fetchOffset` (see {@link partialFirstBatch}).
   */
  batches: RecordBatch[];
  /**
   * True when `batches[0]` starts before `fetchOffset`: brokers return whole batches, so
   * resuming inside a batch (compressed ones above all) brings back records already
   * handled. Records of that batch with `offset < fetchOffset` must be skipped, which
   * means the batch cannot be forwarded as is: re-encode its remaining records.
   */
  partialFirstBatch: boolean;
  /** Where to fetch next: past every batch returned, dropped ones included; `fetchOffset` if none. */
  nextOffset: bigint;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  /** As the broker listed them (read_committed); already applied to `batches`. */
  abortedTransactions: AbortedTransaction[];
  /** Kafka's error code for the partition (0 when fine). */
  errorCode: number;
  /**
   * Why nothing was read. Retriable errors (leader moved, connection lost, metadata
   * missing, a corrupt batch) leave the position where it was: fetch it again; the
   * fetcher has already asked for fresh metadata. Non-retriable: {@link OffsetOutOfRangeError}
   * (apply a reset policy), authorization failures, undecodable batches.
   */
  error: KafkaWireError | RecordBatchError | null;
  /** Size of the records blob the broker sent. */
  bytes: number;
  /**
   * The broker sent bytes but no whole batch: the next batch is larger than the
   * partition's max bytes. It arrives once this partition comes first in a response
   * (partitions rotate) or with a larger `maxBytes`.
   */
  incomplete: boolean;
}

/**
 * Fetches a set of partitions at offsets the caller chooses: no consumer group, no
 * committed offsets, no assign(). Each call sends one sessionless Fetch (v11) per
 * leader broker, in parallel, and resolves when all have answered, with one result
 * per position in the order given.
 */
export interface PartitionFetcher {
  fetch(
    positions: readonly FetchPosition[],
    options?: FetchCallOptions,
  ): Promise<PartitionFetchResult[]>;
  /** ListOffsets with this fetcher's isolation level (so `latest` is the LSO under read_committed). */
  listOffsets: KafkaWireClient["listOffsets"];
  /** The leader node the next fetch of this partition goes to, if metadata knows it. */
  leaderOf(topic: string, partition: number): number | undefined;
  /** Stops further fetches; the client stays open. */
  close(): Promise<void>;
}

const MiB = 1024 * 1024;

export function createPartitionFetcher(
  client: KafkaWireClient,
  options: PartitionFetcherOptions = {},
): PartitionFetcher {
  return new Fetcher(client, options);
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
    throw new RangeError(
      `createPartitionFetcher: ${name} must be a whole number in int32 range, got ${v}`,
    );
  }
  return v;
}

class Fetcher implements PartitionFetcher {
  private readonly isolationLevel: number;
  private readonly isolationName: IsolationLevelName;
  private readonly maxWaitMs: number;
  private readonly minBytes: number;
  private readonly maxBytes: number;
  private readonly partitionMaxBytes: number;
  private readonly verifyCrc: boolean;
  private readonly codecs: CompressionCodecRegistry | undefined;
  private readonly rackId: string;
  private round = 0;
  private closed = false;

  constructor(
    private readonly client: KafkaWireClient,
    options: PartitionFetcherOptions,
  ) {
    this.isolationName = options.isolationLevel ?? "read_committed";
    this.isolationLevel = isolationLevelCode(this.isolationName);
    this.maxWaitMs = positiveInt("maxWaitMs", options.maxWaitMs ?? 500);
    this.minBytes = positiveInt("minBytes", options.minBytes ?? 1);
    this.maxBytes = positiveInt("maxBytes", options.maxBytes ?? 16 * MiB);
    this.partitionMaxBytes = positiveInt("partitionMaxBytes", options.partitionMaxBytes ?? MiB);
    this.verifyCrc = options.verifyCrc ?? true;
    this.codecs = options.codecs;
    this.rackId = options.rackId ?? "";
  }

  leaderOf(topic: string, partition: number): number | undefined {
    const l = this.client.metadata.lookup(topic, partition);
    return l?.kind === "leader" ? l.nodeId : undefined;
  }

  listOffsets(
    topic: string,
    partitions: readonly number[],
    spec: OffsetSpec,
    options: ListOffsetsOptions = {},
  ): Promise<ListedOffset[]> {
    return this.client.listOffsets(topic, partitions, spec, {
      isolationLevel: this.isolationName,
      ...options,
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async fetch(
    positions: readonly FetchPosition[],
    options: FetchCallOptions = {},
  ): Promise<PartitionFetchResult[]> {
    if (this.closed || this.client.closed) throw new WireClosedError("partition fetcher");
    const seen = new Set<string>();
    for (const p of positions) {
      const key = `${p.topic}\u0000${p.partition}`;
      if (seen.has(key)) throw new TypeError(`fetch: ${p.topic}-${p.partition} is listed twice`);
      seen.add(key);
      if (typeof p.offset !== "bigint" || p.offset < 0n) {
        throw new RangeError(
          `fetch: offset of ${p.topic}-${p.partition} must be a bigint >= 0, got ${String(p.offset)}`,
        );
      }
    }
    const results: (PartitionFetchResult | undefined)[] = new Array(positions.length);
    const metadata = this.client.metadata;
    let metadataError: KafkaWireError | undefined;
    try {
      await metadata.ensure(positions.map((p) => p.topic));
    } catch (e) {
      metadataError = asWireError(e);
    }

    const byLeader = new Map<
      number,
      { index: number; pos: FetchPosition; leaderEpoch: number }[]
    >();
    positions.forEach((pos, index) => {
      const leader = metadata.lookup(pos.topic, pos.partition);
      if (leader?.kind === "leader") {
        let list = byLeader.get(leader.nodeId);
        if (list === undefined) {
          list = [];
          byLeader.set(leader.nodeId, list);
        }
        list.push({ index, pos, leaderEpoch: leader.leaderEpoch });
        return;
      }
      let error: KafkaWireError;
      if (leader === undefined) {
        error =
          metadataError ??
          new BrokerError(KafkaErrorCode.LEADER_NOT_AVAILABLE, pos, { retriable: true });
      } else {
        // A topic without a leader right now, or one that does not exist (yet): both may change.
        error = new BrokerError(leader.errorCode, pos, {
          retriable:
            leader.kind === "unavailable" ||
            leader.errorCode === KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        });
        metadata.invalidate(pos.topic);
      }
      results[index] = errorResult(pos, error);
    });

    const outOfRange: { index: number; pos: FetchPosition }[] = [];
    const round = this.round++;
    await Promise.all(
      [...byLeader].map(async ([nodeId, items]) => {
        // Rotate the order so that every partition is sometimes first: only the first
        // partition of a response may exceed its byte limit (KIP-74), so an oversized
        // batch anywhere else would never come through.
        const shift = items.length === 0 ? 0 : round % items.length;
        const ordered = [...items.slice(shift), ...items.slice(0, shift)];
        const topics: { topic: string; partitions: typeof ordered }[] = [];
        for (const item of ordered) {
          const last = topics[topics.length - 1];
          if (last !== undefined && last.topic === item.pos.topic) last.partitions.push(item);
          else topics.push({ topic: item.pos.topic, partitions: [item] });
        }
        const maxWaitMs = options.maxWaitMs ?? this.maxWaitMs;
        const request = {
          maxWaitMs,
          minBytes: options.minBytes ?? this.minBytes,
          maxBytes: options.maxBytes ?? this.maxBytes,
          isolationLevel: this.isolationLevel,
          rackId: this.rackId,
          topics: topics.map((t) => ({
            topic: t.topic,
            partitions: t.partitions.map((i) => ({
              partition: i.pos.partition,
              currentLeaderEpoch: i.leaderEpoch,
              fetchOffset: i.pos.offset,
              logStartOffset: -1n,
              partitionMaxBytes: i.pos.maxBytes ?? this.partitionMaxBytes,
            })),
          })),
        };
        try {
          const response = await this.client.transport.send(nodeId, {
            apiKey: ApiKey.Fetch,
            apiName: "Fetch",
            minVersion: FETCH_VERSION,
            maxVersion: FETCH_VERSION,
            encode: () => encodeFetchRequest(request),
            decode: (_v, buf) => decodeFetchResponse(buf),
            throttleTimeMs: (r) => r.throttleTimeMs,
            // The broker may hold the request for maxWait before it answers.
            timeoutMs: maxWaitMs + this.client.requestTimeoutMs,
            lane: "fetch",
          });
          const byKey = new Map<string, FetchResponsePartition>();
          for (const t of response.topics) {
            for (const p of t.partitions) byKey.set(`${t.topic}\u0000${p.partition}`, p);
          }
          for (const { index, pos } of items) {
            const part = byKey.get(`${pos.topic}\u0000${pos.partition}`);
            const errorCode =
              response.errorCode !== KafkaErrorCode.NONE ? response.errorCode : part?.errorCode;
            if (part === undefined || errorCode === undefined) {
              results[index] = errorResult(
                pos,
                new BrokerError(KafkaErrorCode.UNKNOWN_SERVER_ERROR, pos, {
                  retriable: true,
                  brokerMessage: "partition missing from the Fetch response",
                }),
              );
            } else if (errorCode === KafkaErrorCode.OFFSET_OUT_OF_RANGE) {
              outOfRange.push({ index, pos });
            } else if (errorCode !== KafkaErrorCode.NONE) {
              if (isStaleMetadataError(errorCode)) metadata.invalidate(pos.topic);
              results[index] = {
                ...errorResult(pos, new BrokerError(errorCode, { ...pos, broker: String(nodeId) })),
                ...bounds(part),
                errorCode,
              };
            } else {
              results[index] = this.dataResult(pos, part);
            }
          }
        } catch (e) {
          const error = asWireError(e);
          for (const { index, pos } of items) {
            // A lost connection often means the broker went away: look the leader up again.
            if (error.retriable) metadata.invalidate(pos.topic);
            results[index] = errorResult(pos, error);
          }
        }
      }),
    );

    if (outOfRange.length > 0) await this.outOfRangeResults(outOfRange, results);
    return results as PartitionFetchResult[];
  }

  private dataResult(pos: FetchPosition, part: FetchResponsePartition): PartitionFetchResult {
    const records = part.records ?? Buffer.alloc(0);
    const aborted = part.abortedTransactions ?? [];
    const base = {
      ...bounds(part),
      abortedTransactions: aborted,
      errorCode: 0,
      bytes: records.length,
    };
    let all: RecordBatch[];
    try {
      all = decodeRecordBatches(records, {
        verifyCrc: this.verifyCrc,
        ...(this.codecs === undefined ? {} : { codecs: this.codecs }),
      });
    } catch (e) {
      if (!(e instanceof RecordBatchError)) throw e;
      return { ...errorResult(pos, e), ...base };
    }
    const fetchOffset = pos.offset;
    let batches: RecordBatch[];
    try {
      // Under read_uncommitted no aborted list applies: this only drops control batches.
      batches = filterAborted(
        all,
        this.isolationLevel === IsolationLevel.ReadCommitted ? aborted : null,
      );
    } catch (e) {
      if (!(e instanceof RecordBatchError)) throw e;
      return { ...errorResult(pos, e), ...base };
    }
    // Brokers start at the batch holding fetchOffset; anything wholly before it is old news.
    batches = batches.filter((b) => b.nextOffset > fetchOffset);
    const last = all[all.length - 1];
    const nextOffset =
      last !== undefined && last.nextOffset > fetchOffset ? last.nextOffset : fetchOffset;
    return {
      ...base,
      topic: pos.topic,
      partition: pos.partition,
      fetchOffset,
      batches,
      partialFirstBatch: batches[0] !== undefined && batches[0].baseOffset < fetchOffset,
      nextOffset,
      error: null,
      incomplete: records.length > 0 && all.length === 0,
    };
  }

  /** Fill OFFSET_OUT_OF_RANGE results with the partition's current bounds (the response carries none). */
  private async outOfRangeResults(
    items: { index: number; pos: FetchPosition }[],
    results: (PartitionFetchResult | undefined)[],
  ): Promise<void> {
    const query = (timestamp: bigint) =>
      listOffsetsOf(
        this.client,
        items.map(({ pos }) => ({ topic: pos.topic, partition: pos.partition, timestamp })),
        {
          isolationLevel: "read_uncommitted",
          timeoutMs: Math.min(5000, this.client.requestTimeoutMs),
        },
      ).catch(() => new Map<string, ListedOffset | KafkaWireError>());
    const [earliest, latest] = await Promise.all([
      query(EARLIEST_TIMESTAMP),
      query(LATEST_TIMESTAMP),
    ]);
    const offsetOf = (m: Map<string, ListedOffset | KafkaWireError>, pos: FetchPosition) => {
      const r = m.get(`${pos.topic}\u0000${pos.partition}`);
      return r === undefined || r instanceof Error ? -1n : r.offset;
    };
    for (const { index, pos } of items) {
      const logStartOffset = offsetOf(earliest, pos);
      const highWatermark = offsetOf(latest, pos);
      results[index] = {
        ...errorResult(
          pos,
          new OffsetOutOfRangeError(pos.topic, pos.partition, pos.offset, {
            logStartOffset,
            highWatermark,
          }),
        ),
        logStartOffset,
        highWatermark,
        errorCode: KafkaErrorCode.OFFSET_OUT_OF_RANGE,
      };
    }
  }
}

function bounds(part: FetchResponsePartition) {
  return {
    highWatermark: part.highWatermark,
    lastStableOffset: part.lastStableOffset,
    logStartOffset: part.logStartOffset,
  };
}

/** The result of a position whose fetch failed as a whole: nothing read, the position unchanged. */
export function errorResult(
  pos: FetchPosition,
  error: KafkaWireError | RecordBatchError,
): PartitionFetchResult {
  return {
    topic: pos.topic,
    partition: pos.partition,
    fetchOffset: pos.offset,
    batches: [],
    partialFirstBatch: false,
    nextOffset: pos.offset,
    highWatermark: -1n,
    lastStableOffset: -1n,
    logStartOffset: -1n,
    abortedTransactions: [],
    errorCode: error instanceof KafkaWireError ? (error.kafkaErrorCode ?? -1) : -1,
    error,
    bytes: 0,
    incomplete: false,
  };
}
