import type { AbortedTransaction } from "@geo/record-batch";
import { WireReader } from "./wire-reader";
import { sizeOfString, WireWriter } from "./wire-writer";

// Fetch v11 (Kafka 2.3+): the last version before the flexible encoding (v12), with
// isolation level, log start offsets, current leader epochs (KIP-320) and rack id.
// Sessions are not used: session id 0 and epoch -1 ask for a full, sessionless fetch,
// which fits a caller that chooses its positions freely on every call.

export const FETCH_VERSION = 11;

export interface FetchRequestPartition {
  partition: number;
  /** Leader epoch from metadata, so a stale leader answers FENCED_LEADER_EPOCH; -1 = unchecked. */
  currentLeaderEpoch: number;
  fetchOffset: bigint;
  /** Only followers send it; consumers send -1. */
  logStartOffset: bigint;
  partitionMaxBytes: number;
}

export interface FetchRequestTopic {
  topic: string;
  partitions: readonly FetchRequestPartition[];
}

export interface FetchRequest {
  replicaId?: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: number;
  sessionId?: number;
  sessionEpoch?: number;
  topics: readonly FetchRequestTopic[];
  rackId?: string;
}

/** Fetch v11 request body (after the request header). */
export function encodeFetchRequest(req: FetchRequest): Buffer {
  let size = 4 * 5 + 1 + 4 + 4 + 4 + sizeOfString(req.rackId ?? "");
  for (const t of req.topics) size += sizeOfString(t.topic) + 4 + t.partitions.length * 28;
  const w = new WireWriter(size);
  w.int32(req.replicaId ?? -1)
    .int32(req.maxWaitMs)
    .int32(req.minBytes)
    .int32(req.maxBytes)
    .int8(req.isolationLevel)
    .int32(req.sessionId ?? 0)
    .int32(req.sessionEpoch ?? -1)
    .array(req.topics, (w, t) => {
      w.string(t.topic).array(t.partitions, (w, p) => {
        w.int32(p.partition)
          .int32(p.currentLeaderEpoch)
          .int64(p.fetchOffset)
          .int64(p.logStartOffset)
          .int32(p.partitionMaxBytes);
      });
    })
    .array([], () => {}) // forgotten_topics_data: only meaningful within a session
    .string(req.rackId ?? "");
  return w.finish();
}

export interface FetchResponsePartition {
  partition: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  /** null when the broker sent none (read_uncommitted, or nothing aborted in range). */
  abortedTransactions: AbortedTransaction[] | null;
  preferredReadReplica: number;
  /** The partition's records blob: a view into the response buffer. */
  records: Buffer | null;
}

export interface FetchResponse {
  throttleTimeMs: number;
  errorCode: number;
  sessionId: number;
  topics: { topic: string; partitions: FetchResponsePartition[] }[];
}

/** Fetch v11 response body (after the correlation id). Records stay views into `buf`. */
export function decodeFetchResponse(buf: Buffer): FetchResponse {
  const r = new WireReader(buf, "Fetch response");
  const throttleTimeMs = r.int32();
  const errorCode = r.int16();
  const sessionId = r.int32();
  const topics = r.array((r) => ({
    topic: r.string(),
    partitions: r.array(
      (r): FetchResponsePartition => ({
        partition: r.int32(),
        errorCode: r.int16(),
        highWatermark: r.int64(),
        lastStableOffset: r.int64(),
        logStartOffset: r.int64(),
        abortedTransactions: r.nullableArray((r) => ({
          producerId: r.int64(),
          firstOffset: r.int64(),
        })),
        preferredReadReplica: r.int32(),
        records: r.nullableBytes(),
      }),
    ),
  }));
  return { throttleTimeMs, errorCode, sessionId, topics };
}
