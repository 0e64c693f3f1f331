import { type BatchHeaderPatch, rewriteBatchHeader } from "@geo/record-batch";
import { WireReader } from "./wire-reader";
import { sizeOfString, WireWriter } from "./wire-writer";

// Produce v3-v8 share one request layout (v3 introduced v2 record batches and the
// transactional id; v7 allows zstd; v8 adds per-record errors and an error message to the
// response). v9+ is the flexible encoding. A broker takes exactly one record batch per
// partition per request from v3 on, so a request carries at most one batch per partition.

export const PRODUCE_MIN_VERSION = 3;
export const PRODUCE_MAX_VERSION = 8;

export interface ProduceRequestPartition {
  partition: number;
  /** One v2 record batch. */
  batch: Buffer;
  /**
   * Producer fields to stamp while the batch is copied into the request: the patch is
   * applied to the request's own copy, so the caller's bytes stay untouched and the
   * batch is copied once.
   */
  stamp?: BatchHeaderPatch;
}

export interface ProduceRequestTopic {
  topic: string;
  partitions: readonly ProduceRequestPartition[];
}

export interface ProduceRequest {
  transactionalId?: string | null;
  acks: number;
  timeoutMs: number;
  topics: readonly ProduceRequestTopic[];
}

/** Produce v3-v8 request body (after the request header). */
export function encodeProduceRequest(req: ProduceRequest): Buffer {
  const transactionalId = req.transactionalId ?? null;
  let size = sizeOfString(transactionalId) + 2 + 4 + 4;
  for (const t of req.topics) {
    size += sizeOfString(t.topic) + 4;
    for (const p of t.partitions) size += 8 + p.batch.length;
  }
  const w = new WireWriter(size);
  w.string(transactionalId).int16(req.acks).int32(req.timeoutMs);
  w.array(req.topics, (w, t) => {
    w.string(t.topic).array(t.partitions, (w, p) => {
      w.int32(p.partition).int32(p.batch.length);
      const start = w.length;
      w.raw(p.batch);
      if (p.stamp !== undefined) {
        rewriteBatchHeader(w.finish().subarray(start, start + p.batch.length), p.stamp, {
          inPlace: true,
        });
      }
    });
  });
  return w.finish();
}

export interface ProduceResponsePartition {
  partition: number;
  errorCode: number;
  baseOffset: bigint;
  /** -1 unless the topic uses LogAppendTime. */
  logAppendTime: bigint;
  /** v5+; -1 before. */
  logStartOffset: bigint;
  /** v8+ */
  recordErrors: { batchIndex: number; message: string | null }[];
  /** v8+ */
  errorMessage: string | null;
}

export interface ProduceResponse {
  topics: { topic: string; partitions: ProduceResponsePartition[] }[];
  throttleTimeMs: number;
}

/** Produce v3-v8 response body. */
export function decodeProduceResponse(version: number, buf: Buffer): ProduceResponse {
  const r = new WireReader(buf, `Produce v${version} response`);
  const topics = r.array((r) => ({
    topic: r.string(),
    partitions: r.array((r): ProduceResponsePartition => {
      const partition = r.int32();
      const errorCode = r.int16();
      const baseOffset = r.int64();
      const logAppendTime = r.int64();
      const logStartOffset = version >= 5 ? r.int64() : -1n;
      let recordErrors: { batchIndex: number; message: string | null }[] = [];
      let errorMessage: string | null = null;
      if (version >= 8) {
        recordErrors = r.array((r) => ({ batchIndex: r.int32(), message: r.nullableString() }));
        errorMessage = r.nullableString();
      }
      return {
        partition,
        errorCode,
        baseOffset,
        logAppendTime,
        logStartOffset,
        recordErrors,
        errorMessage,
      };
    }),
  }));
  const throttleTimeMs = r.int32();
  return { topics, throttleTimeMs };
}
