// What the agent writes for one fetched source batch: the batch itself (forwarded, producer
// fields re-stamped by the producer, records untouched) or records re-encoded from it.
import { PROVENANCE_HEADER } from "@geo/config";
import type { RecordsInput } from "@geo/kafka-wire";
import {
  type HeaderInput,
  type KafkaRecord,
  type RecordBatch,
  type RecordInput,
  TimestampType,
} from "@geo/record-batch";
import type { FlowSpecLike } from "./types";

export interface TransformContext {
  /** Append `geo.origin = sourceAlias` to records that carry no provenance header yet. */
  provenanceHeader: boolean;
  /** Drop records whose provenance header names the target (they came from there). */
  loopCheck: boolean;
  sourceAlias: string;
  targetAlias: string;
  /** Re-encoded output is split so one batch's records stay under this (uncompressed). */
  maxBatchBytes: number;
}

/** How a flow's records are transformed on their way to the target. */
export function transformContextFor(flow: FlowSpecLike, maxBatchBytes: number): TransformContext {
  return {
    provenanceHeader: flow.provenanceHeader,
    // Identity naming can only be kept from looping by the header; prefix naming by names.
    loopCheck: flow.provenanceHeader || flow.naming === "identity",
    sourceAlias: flow.sourceCluster,
    targetAlias: flow.targetCluster,
    maxBatchBytes,
  };
}

/** One batch to produce and the source offsets its records came from. */
export interface PlannedBatch {
  input: RecordBatch | RecordsInput;
  forwarded: boolean;
  /**
   * Runs of source offsets in record order: record i of the batch (target baseOffset + i) is
   * the i-th offset of the concatenated runs.
   */
  sourceRuns: Array<[start: bigint, count: number]>;
  recordCount: number;
  /** Source position once this batch is acknowledged. */
  sourceNext: bigint;
  /** Oldest and newest record timestamps (ms), for latency and lag. */
  firstTimestamp: bigint;
  maxTimestamp: bigint;
  /** Bytes of the source batch this came from (split batches: its share). */
  bytes: number;
}

export interface BatchPlan {
  batches: PlannedBatch[];
  /** Records of the source batch below the position (partial first batch), not written. */
  below: number;
  /** Records dropped because they came from the target (loop prevention). */
  skipped: number;
  /** Source position after the whole source batch. */
  sourceNext: bigint;
  /** Raw size of the source batch. */
  bytes: number;
}

const HEADER_KEY = Buffer.from(PROVENANCE_HEADER, "utf8");

function isProvenance(key: Buffer): boolean {
  return key.length === HEADER_KEY.length && key.equals(HEADER_KEY);
}

/** Whether a record names `target` in one of its provenance headers. */
export function originatedIn(record: KafkaRecord, target: Buffer): boolean {
  for (const h of record.headers) {
    if (isProvenance(h.key) && h.value?.equals(target)) return true;
  }
  return false;
}

function hasProvenance(record: KafkaRecord): boolean {
  for (const h of record.headers) if (isProvenance(h.key)) return true;
  return false;
}

function recordSize(r: KafkaRecord): number {
  let n = 24 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const h of r.headers) n += 8 + h.key.length + (h.value?.length ?? 0);
  return n;
}

function batchFirstTimestamp(b: RecordBatch): bigint {
  return b.hasDeleteHorizon || b.timestampType === TimestampType.LogAppendTime
    ? b.maxTimestamp
    : b.baseTimestamp;
}

/**
 * Plans the writes for one source batch fetched at `position` (the unit's fetch offset).
 * Forwarded unchanged when nothing about its records changes: no header to add, no record
 * below the position (partial first batch), contiguous offsets (a compacted batch must be
 * re-encoded: brokers refuse count != lastOffsetDelta + 1), CreateTime, no delete horizon and no
 * record dropped by loop prevention. Otherwise its remaining records are re-encoded with the
 * source batch's codec; keys (null vs empty), values (null), headers (bytes, order, repeats),
 * timestamps and record attributes are kept as they were.
 */
export function planBatch(batch: RecordBatch, position: bigint, ctx: TransformContext): BatchPlan {
  const sourceNext = batch.nextOffset;
  const bytes = batch.raw.length;
  const rawForwardable =
    !ctx.provenanceHeader &&
    batch.baseOffset >= position &&
    batch.hasContiguousOffsets &&
    !batch.hasDeleteHorizon &&
    batch.timestampType === TimestampType.CreateTime &&
    batch.recordCount > 0;
  if (rawForwardable && !ctx.loopCheck) {
    return {
      batches: [forwarded(batch)],
      below: 0,
      skipped: 0,
      sourceNext,
      bytes,
    };
  }
  const target = Buffer.from(ctx.targetAlias, "utf8");
  const all = batch.records();
  const kept: KafkaRecord[] = [];
  let below = 0;
  let skipped = 0;
  for (const r of all) {
    if (r.offset < position) below++;
    else if (ctx.loopCheck && originatedIn(r, target)) skipped++;
    else kept.push(r);
  }
  if (rawForwardable && below === 0 && skipped === 0) {
    return { batches: [forwarded(batch)], below, skipped, sourceNext, bytes };
  }
  if (kept.length === 0) return { batches: [], below, skipped, sourceNext, bytes };

  const origin = Buffer.from(ctx.sourceAlias, "utf8");
  const out: PlannedBatch[] = [];
  let group: KafkaRecord[] = [];
  let groupBytes = 0;
  const flush = (last: boolean) => {
    if (group.length === 0) return;
    const records: RecordInput[] = group.map((r) => {
      const headers: HeaderInput[] = r.headers.map((h) => ({ key: h.key, value: h.value }));
      if (ctx.provenanceHeader && !hasProvenance(r)) {
        headers.push({ key: HEADER_KEY, value: origin });
      }
      return {
        timestamp: r.timestamp,
        key: r.key,
        value: r.value,
        headers,
        attributes: r.attributes,
      };
    });
    const runs: Array<[bigint, number]> = [];
    let first = group[0]!.timestamp;
    let max = group[0]!.timestamp;
    for (const r of group) {
      const run = runs[runs.length - 1];
      if (run !== undefined && run[0] + BigInt(run[1]) === r.offset) run[1]++;
      else runs.push([r.offset, 1]);
      if (r.timestamp < first) first = r.timestamp;
      if (r.timestamp > max) max = r.timestamp;
    }
    const lastRecord = group[group.length - 1]!;
    out.push({
      input: { records, compression: batch.compression },
      forwarded: false,
      sourceRuns: runs,
      recordCount: records.length,
      // A split batch moves the position to just after its last record; the last part to the
      // end of the source batch (past records compaction removed at its tail).
      sourceNext: last ? sourceNext : lastRecord.offset + 1n,
      firstTimestamp: first,
      maxTimestamp: max,
      bytes: Math.round((bytes * group.length) / kept.length),
    });
    group = [];
    groupBytes = 0;
  };
  for (const r of kept) {
    const size = recordSize(r);
    if (group.length > 0 && groupBytes + size > ctx.maxBatchBytes) flush(false);
    group.push(r);
    groupBytes += size;
  }
  flush(true);
  return { batches: out, below, skipped, sourceNext, bytes };
}

function forwarded(batch: RecordBatch): PlannedBatch {
  return {
    input: batch,
    forwarded: true,
    sourceRuns: [[batch.baseOffset, batch.recordCount]],
    recordCount: batch.recordCount,
    sourceNext: batch.nextOffset,
    firstTimestamp: batchFirstTimestamp(batch),
    maxTimestamp: batch.maxTimestamp,
    bytes: batch.raw.length,
  };
}
