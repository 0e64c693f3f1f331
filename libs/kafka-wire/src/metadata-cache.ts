import { ApiKey } from "./api-keys";
import { KafkaErrorCode } from "./kafka-error-codes";
import {
  decodeMetadataResponse,
  encodeMetadataRequest,
  METADATA_MAX_VERSION,
  METADATA_MIN_VERSION,
  type MetadataResponse,
} from "./metadata-protocol";
import type { WireTransport } from "./wire-transport";

/** Where a partition's requests go, as far as the cached metadata knows. */
export type LeaderLookup =
  | { kind: "leader"; nodeId: number; leaderEpoch: number }
  /** The topic or partition does not exist, or may not be described (`errorCode` says which). */
  | { kind: "missing"; errorCode: number }
  /** It exists but has no leader right now (election under way, or an error that may pass). */
  | { kind: "unavailable"; errorCode: number };

interface TopicEntry {
  fetchedAt: number;
  errorCode: number;
  /** By partition index. */
  partitions: Map<number, { leaderId: number; leaderEpoch: number; errorCode: number }>;
  stale: boolean;
}

export interface MetadataCacheOptions {
  /** Refresh a topic's metadata at least this often. Default 300 000 ms (Java's metadata.max.age.ms). */
  maxAgeMs?: number;
  /** Least time between two Metadata requests. Default 100 ms (Java's retry.backoff.ms). */
  minRefreshIntervalMs?: number;
  /** Client-side timeout of a Metadata request. Default 10 000 ms. */
  requestTimeoutMs?: number;
}

/**
 * Partition leaders for the topics in use, fetched by name only (never "all topics",
 * never auto-creating). Unlike kafkajs's cluster, where one missing topic fails the
 * refresh of every topic, each topic and partition carries its own state, so a deleted
 * source topic does not stop the others. Refreshes are coalesced: callers asking while
 * one is in flight share the next one.
 */
export class MetadataCache {
  private readonly topics = new Map<string, TopicEntry>();
  private readonly maxAgeMs: number;
  private readonly minRefreshIntervalMs: number;
  private readonly requestTimeoutMs: number;
  private wanted = new Set<string>();
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private running = false;
  private lastRefreshAt = -Infinity;
  /** From the latest response. */
  clusterId: string | null = null;

  constructor(
    private readonly transport: WireTransport,
    opts: MetadataCacheOptions = {},
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? 300_000;
    this.minRefreshIntervalMs = opts.minRefreshIntervalMs ?? 100;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
  }

  /** The cached answer, or undefined when the topic needs a refresh first. */
  lookup(topic: string, partition: number): LeaderLookup | undefined {
    const t = this.topics.get(topic);
    if (t === undefined) return undefined;
    if (t.errorCode !== KafkaErrorCode.NONE) {
      return t.errorCode === KafkaErrorCode.LEADER_NOT_AVAILABLE
        ? { kind: "unavailable", errorCode: t.errorCode }
        : { kind: "missing", errorCode: t.errorCode };
    }
    const p = t.partitions.get(partition);
    if (p === undefined)
      return { kind: "missing", errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
    if (p.leaderId < 0) {
      return {
        kind: "unavailable",
        errorCode:
          p.errorCode === KafkaErrorCode.NONE ? KafkaErrorCode.LEADER_NOT_AVAILABLE : p.errorCode,
      };
    }
    // REPLICA_NOT_AVAILABLE and the like come with a live leader: it can still serve.
    return { kind: "leader", nodeId: p.leaderId, leaderEpoch: p.leaderEpoch };
  }

  /** Partition count, or undefined if unknown or the topic is missing. */
  partitionCount(topic: string): number | undefined {
    const t = this.topics.get(topic);
    return t === undefined || t.errorCode !== KafkaErrorCode.NONE ? undefined : t.partitions.size;
  }

  /** Whether `topic` must be refreshed before it is used. */
  needsRefresh(topic: string, now = performance.now()): boolean {
    const t = this.topics.get(topic);
    return t === undefined || t.stale || now - t.fetchedAt > this.maxAgeMs;
  }

  /** Whether an error marked the topic stale (or it was never fetched). */
  isInvalidated(topic: string): boolean {
    return this.topics.get(topic)?.stale ?? true;
  }

  /** Mark a topic stale after an error that suggests leadership moved. */
  invalidate(topic: string): void {
    const t = this.topics.get(topic);
    if (t !== undefined) t.stale = true;
  }

  /** Refresh the topics that are missing or stale; resolves at once if none are. */
  async ensure(topics: Iterable<string>): Promise<void> {
    const now = performance.now();
    const need = [...new Set(topics)].filter((t) => this.needsRefresh(t, now));
    if (need.length > 0) await this.refresh(need);
  }

  /** Fetch metadata for `topics` in a request sent after this call. */
  refresh(topics: Iterable<string>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      for (const t of topics) this.wanted.add(t);
      this.waiters.push({ resolve, reject });
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.wanted.size > 0) {
        const wait = this.lastRefreshAt + this.minRefreshIntervalMs - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const topics = [...this.wanted];
        const waiters = this.waiters;
        this.wanted = new Set();
        this.waiters = [];
        this.lastRefreshAt = performance.now();
        try {
          const response = await this.transport.send(null, {
            apiKey: ApiKey.Metadata,
            apiName: "Metadata",
            minVersion: METADATA_MIN_VERSION,
            maxVersion: METADATA_MAX_VERSION,
            encode: (v) => encodeMetadataRequest(v, { topics, allowAutoTopicCreation: false }),
            decode: (v, buf) => decodeMetadataResponse(v, buf),
            throttleTimeMs: (r) => r.throttleTimeMs,
            timeoutMs: this.requestTimeoutMs,
          });
          this.apply(response);
          for (const w of waiters) w.resolve();
        } catch (e) {
          for (const w of waiters) w.reject(e);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** Take in a Metadata response (exposed for tests). */
  apply(response: MetadataResponse): void {
    const now = performance.now();
    this.clusterId = response.clusterId;
    this.transport.updateBrokers(response.brokers);
    for (const t of response.topics) {
      const partitions = new Map<
        number,
        { leaderId: number; leaderEpoch: number; errorCode: number }
      >();
      for (const p of t.partitions) {
        partitions.set(p.partition, {
          leaderId: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          errorCode: p.errorCode,
        });
      }
      this.topics.set(t.topic, {
        fetchedAt: now,
        errorCode: t.errorCode,
        partitions,
        stale: false,
      });
    }
  }
}
