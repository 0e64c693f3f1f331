import { createBackoff } from "@geo/backoff";
import type { Logger } from "@geo/logging";
import type { KafkaConfig } from "kafkajs";
import { ApiKey, IsolationLevel } from "./api-keys";
import { isStaleMetadataError, KafkaErrorCode } from "./kafka-error-codes";
import { BrokerError, KafkaWireError, WireClosedError } from "./kafka-wire-error";
import { createKafkajsTransport } from "./kafkajs-transport";
import {
  decodeListOffsetsResponse,
  EARLIEST_TIMESTAMP,
  encodeListOffsetsRequest,
  LATEST_TIMESTAMP,
  LIST_OFFSETS_MAX_VERSION,
  LIST_OFFSETS_MIN_VERSION,
  type ListOffsetsResponse,
} from "./list-offsets-protocol";
import { MetadataCache } from "./metadata-cache";
import { createSocketTransport } from "./transport/socket-transport";
import type { WireTransport } from "./wire-transport";

/** `earliest` (log start), `latest` (high watermark, or last stable offset under read_committed), or a timestamp in ms. */
export type OffsetSpec = "earliest" | "latest" | number | bigint;

export type IsolationLevelName = "read_committed" | "read_uncommitted";

export interface ListedOffset {
  partition: number;
  /**
   * For a timestamp: the first offset whose record timestamp is at or after it, or -1n
   * when there is none (the caller then wants `latest`).
   */
  offset: bigint;
  /** The record's timestamp for a timestamp query; -1n otherwise. */
  timestamp: bigint;
  leaderEpoch: number;
}

export interface ListOffsetsOptions {
  /** Default read_committed: `latest` is then the last stable offset. */
  isolationLevel?: IsolationLevelName;
  /** Give up retrying leader changes after this long. Default 30 000 ms. */
  timeoutMs?: number;
}

export interface WireClientOptions {
  /** For this package's own warnings (producer id resets and the like). */
  logger?: Logger;
  /** Default client-side request timeout. Default: the KafkaConfig's requestTimeout or 30 s. */
  requestTimeoutMs?: number;
  /** Default 300 000 ms. */
  metadataMaxAgeMs?: number;
  /** Pause before retrying after a retriable error. Default 100 ms. */
  retryBackoffMs?: number;
}

/**
 * One cluster's connections and metadata, shared by the fetchers and producers built on
 * it. Create one per cluster; close it last.
 */
export interface KafkaWireClient {
  readonly transport: WireTransport;
  readonly metadata: MetadataCache;
  readonly logger: Logger | undefined;
  readonly retryBackoffMs: number;
  readonly requestTimeoutMs: number;
  /** ListOffsets for partitions of one topic, retrying leader changes; results in `partitions` order. */
  listOffsets(
    topic: string,
    partitions: readonly number[],
    spec: OffsetSpec,
    options?: ListOffsetsOptions,
  ): Promise<ListedOffset[]>;
  close(): Promise<void>;
  readonly closed: boolean;
}

/**
 * A client for one cluster, from the same KafkaConfig kafkajs takes (`kafkaClientOptions`
 * of `@geo/kafka` builds it, with TLS and SASL), or from any {@link WireTransport}.
 */
export function createWireClient(
  source: KafkaConfig | WireTransport,
  options: WireClientOptions = {},
): KafkaWireClient {
  const transport = isTransport(source)
    ? source
    : createTransport(
        source,
        options.requestTimeoutMs === undefined
          ? {}
          : { requestTimeoutMs: options.requestTimeoutMs },
      );
  const requestTimeoutMs =
    options.requestTimeoutMs ?? (isTransport(source) ? undefined : source.requestTimeout) ?? 30_000;
  return new WireClient(transport, options, requestTimeoutMs);
}

/**
 * The transport on Node's own sockets; `GEO_KAFKA_WIRE_TRANSPORT=kafkajs` selects the previous
 * one over kafkajs's internals, kept one release for comparison and as a fallback.
 */
function createTransport(config: KafkaConfig, options: { requestTimeoutMs?: number }) {
  return process.env.GEO_KAFKA_WIRE_TRANSPORT === "kafkajs"
    ? createKafkajsTransport(config, options)
    : createSocketTransport(config, options);
}

function isTransport(x: KafkaConfig | WireTransport): x is WireTransport {
  return typeof (x as WireTransport).send === "function";
}

export function isolationLevelCode(name: IsolationLevelName | undefined): number {
  return name === "read_uncommitted"
    ? IsolationLevel.ReadUncommitted
    : IsolationLevel.ReadCommitted;
}

function specTimestamp(spec: OffsetSpec): bigint {
  if (spec === "earliest") return EARLIEST_TIMESTAMP;
  if (spec === "latest") return LATEST_TIMESTAMP;
  const ts = typeof spec === "bigint" ? spec : BigInt(spec);
  if (ts < 0n) throw new RangeError(`listOffsets: timestamp must be >= 0, got ${spec}`);
  return ts;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface OffsetQuery {
  topic: string;
  partition: number;
  timestamp: bigint;
}

class WireClient implements KafkaWireClient {
  readonly metadata: MetadataCache;
  readonly logger: Logger | undefined;
  readonly retryBackoffMs: number;
  closed = false;

  constructor(
    readonly transport: WireTransport,
    options: WireClientOptions,
    readonly requestTimeoutMs: number,
  ) {
    this.logger = options.logger;
    this.retryBackoffMs = options.retryBackoffMs ?? 100;
    this.metadata = new MetadataCache(transport, {
      ...(options.metadataMaxAgeMs === undefined ? {} : { maxAgeMs: options.metadataMaxAgeMs }),
      minRefreshIntervalMs: this.retryBackoffMs,
      requestTimeoutMs: Math.min(requestTimeoutMs, 10_000),
    });
  }

  async listOffsets(
    topic: string,
    partitions: readonly number[],
    spec: OffsetSpec,
    options: ListOffsetsOptions = {},
  ): Promise<ListedOffset[]> {
    const timestamp = specTimestamp(spec);
    const queries = partitions.map((partition) => ({ topic, partition, timestamp }));
    const results = await listOffsetsOf(this, queries, options);
    return partitions.map((partition) => {
      const r = results.get(`${topic}\u0000${partition}`);
      if (r instanceof Error) throw r;
      return r!;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.transport.close();
  }
}

/**
 * ListOffsets for partitions of many topics at once: one request per leader broker instead of one
 * per topic (health rounds over thousands of partitions). Keys are `topic + "\u0000" + partition`;
 * a partition that failed maps to its error.
 */
export function listOffsetsMany(
  client: KafkaWireClient,
  partitions: readonly { topic: string; partition: number }[],
  spec: OffsetSpec,
  options: ListOffsetsOptions = {},
): Promise<Map<string, ListedOffset | KafkaWireError>> {
  const timestamp = specTimestamp(spec);
  return listOffsetsOf(
    client,
    partitions.map((p) => ({ topic: p.topic, partition: p.partition, timestamp })),
    options,
  );
}

/**
 * ListOffsets for any set of partitions, grouped per leader, retrying retriable errors
 * (refreshing metadata) until `timeoutMs`. Each partition ends with its offset or its
 * final error. Keyed `topic \0 partition`.
 */
export async function listOffsetsOf(
  client: KafkaWireClient,
  queries: readonly OffsetQuery[],
  options: ListOffsetsOptions = {},
): Promise<Map<string, ListedOffset | KafkaWireError>> {
  if (client.closed) throw new WireClosedError("kafka-wire client");
  const isolationLevel = isolationLevelCode(options.isolationLevel);
  const deadline = performance.now() + (options.timeoutMs ?? 30_000);
  const out = new Map<string, ListedOffset | KafkaWireError>();
  let pending = [...queries];
  const backoff = createBackoff({ initialMs: client.retryBackoffMs, maxMs: 1000 });
  for (;;) {
    const failed: OffsetFailure[] = [];
    try {
      await client.metadata.ensure(pending.map((q) => q.topic));
    } catch (e) {
      const error = e instanceof KafkaWireError ? e : asWireError(e);
      for (const q of pending) failed.push({ q, error });
      pending = [];
    }
    const byLeader = groupByLeader(client, pending, failed);
    await Promise.all(
      [...byLeader].map(([nodeId, items]) =>
        listOffsetsAt(client, nodeId, items, { isolationLevel, deadline }, out, failed),
      ),
    );
    pending = [];
    for (const f of failed) {
      if (f.error.retriable && performance.now() < deadline && !client.closed) pending.push(f.q);
      else out.set(`${f.q.topic}\u0000${f.q.partition}`, f.error);
    }
    if (pending.length === 0) return out;
    await sleep(backoff.next());
  }
}

interface OffsetFailure {
  readonly q: OffsetQuery;
  readonly error: KafkaWireError;
}

interface LeaderQuery {
  readonly q: OffsetQuery;
  readonly leaderEpoch: number;
}

/** The queries per leader broker; a partition without a known leader fails (retriably). */
function groupByLeader(
  client: KafkaWireClient,
  pending: readonly OffsetQuery[],
  failed: OffsetFailure[],
): Map<number, LeaderQuery[]> {
  const byLeader = new Map<number, LeaderQuery[]>();
  for (const q of pending) {
    const leader = client.metadata.lookup(q.topic, q.partition);
    if (leader?.kind !== "leader") {
      const code = leader?.errorCode ?? KafkaErrorCode.LEADER_NOT_AVAILABLE;
      // The cached topic may predate the partition (just added) or its leader: the retry
      // asks again, not the same cache for metadataMaxAgeMs.
      client.metadata.invalidate(q.topic);
      failed.push({
        q,
        error: new BrokerError(code, { topic: q.topic, partition: q.partition }),
      });
      continue;
    }
    let list = byLeader.get(leader.nodeId);
    if (list === undefined) {
      list = [];
      byLeader.set(leader.nodeId, list);
    }
    list.push({ q, leaderEpoch: leader.leaderEpoch });
  }
  return byLeader;
}

/** One ListOffsets request to a leader: offsets into `out`, failed partitions into `failed`. */
async function listOffsetsAt(
  client: KafkaWireClient,
  nodeId: number,
  items: readonly LeaderQuery[],
  { isolationLevel, deadline }: { isolationLevel: number; deadline: number },
  out: Map<string, ListedOffset | KafkaWireError>,
  failed: OffsetFailure[],
): Promise<void> {
  const topics = new Map<
    string,
    { partition: number; currentLeaderEpoch: number; timestamp: bigint }[]
  >();
  for (const { q, leaderEpoch } of items) {
    let ps = topics.get(q.topic);
    if (ps === undefined) {
      ps = [];
      topics.set(q.topic, ps);
    }
    ps.push({
      partition: q.partition,
      currentLeaderEpoch: leaderEpoch,
      timestamp: q.timestamp,
    });
  }
  const request = {
    isolationLevel,
    topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
  };
  try {
    const res = await client.transport.send(nodeId, {
      apiKey: ApiKey.ListOffsets,
      apiName: "ListOffsets",
      minVersion: LIST_OFFSETS_MIN_VERSION,
      maxVersion: LIST_OFFSETS_MAX_VERSION,
      encode: (v) => encodeListOffsetsRequest(v, request),
      decode: (v, buf) => decodeListOffsetsResponse(v, buf),
      throttleTimeMs: (r) => r.throttleTimeMs,
      timeoutMs: Math.max(1, Math.min(client.requestTimeoutMs, deadline - performance.now())),
    });
    readListOffsetsAnswer(client, res, items, out, failed);
  } catch (e) {
    const error = e instanceof KafkaWireError ? e : asWireError(e);
    for (const { q } of items) {
      client.metadata.invalidate(q.topic);
      failed.push({ q, error });
    }
  }
}

/** Each asked partition's offset or error; one the broker did not answer fails too. */
function readListOffsetsAnswer(
  client: KafkaWireClient,
  res: ListOffsetsResponse,
  items: readonly LeaderQuery[],
  out: Map<string, ListedOffset | KafkaWireError>,
  failed: OffsetFailure[],
): void {
  const answered = new Set<string>();
  // By key, not items.find() per answer: quadratic in the partitions of one request,
  // which health rounds over thousands of partitions felt.
  const asked = new Map(items.map(({ q }) => [`${q.topic}\u0000${q.partition}`, q]));
  for (const t of res.topics) {
    for (const p of t.partitions) {
      const key = `${t.topic}\u0000${p.partition}`;
      answered.add(key);
      const q = asked.get(key);
      if (q === undefined) continue;
      if (p.errorCode !== KafkaErrorCode.NONE) {
        if (isStaleMetadataError(p.errorCode)) client.metadata.invalidate(t.topic);
        failed.push({
          q,
          error: new BrokerError(p.errorCode, { topic: t.topic, partition: p.partition }),
        });
      } else {
        out.set(key, {
          partition: p.partition,
          offset: p.offset,
          timestamp: p.timestamp,
          leaderEpoch: p.leaderEpoch,
        });
      }
    }
  }
  for (const { q } of items) {
    if (!answered.has(`${q.topic}\u0000${q.partition}`)) {
      failed.push({ q, error: new BrokerError(KafkaErrorCode.UNKNOWN_SERVER_ERROR, q) });
    }
  }
}

export function asWireError(e: unknown): KafkaWireError {
  if (e instanceof KafkaWireError) return e;
  const err = e as { message?: string; retriable?: boolean } | undefined;
  return new KafkaWireError("UNKNOWN", err?.message ?? String(e), {
    retriable: err?.retriable ?? false,
    cause: e,
  });
}
