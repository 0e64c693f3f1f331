import {
  type CompressionCodecRegistry,
  CompressionType,
  defaultCompressionCodecs,
} from "./compression-codec";
import { crc32c } from "./crc32c";
import { TimestampType } from "./record-batch";
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  CONTROL_FLAG_MASK,
  CRC_OFFSET,
  CURRENT_MAGIC,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORDS_OFFSET,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
} from "./record-batch-layout";
import type { BatchHeaderPatch } from "./rewrite-batch-header";
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from "./varint";

export interface HeaderInput {
  /** Bytes are written as given; a string is written as UTF-8. */
  key: Uint8Array | string;
  value: Uint8Array | string | null;
}

export interface RecordInput {
  /** Defaults to the record's index. Must increase strictly through the batch. */
  offsetDelta?: number;
  timestamp: bigint;
  key: Uint8Array | string | null;
  value: Uint8Array | string | null;
  /** Written in the order given, repeats included. */
  headers?: readonly HeaderInput[];
  /** Record attributes (int8, unused by Kafka); default 0. */
  attributes?: number;
}

/**
 * The header fields of {@link BatchHeaderPatch}; those left undefined take what a Java producer
 * writes for a non-idempotent batch: baseOffset 0n (a broker assigns the real offsets on
 * produce), partitionLeaderEpoch -1 (no epoch), producerId -1n, producerEpoch -1, baseSequence
 * -1 (no sequence), not transactional.
 */
export interface EncodeRecordBatchInput extends BatchHeaderPatch {
  isControl?: boolean;
  /** Default CreateTime. */
  timestampType?: TimestampType;
  /** Codec id (see {@link CompressionType}); default None. */
  compression?: number;
  /** Overrides the computed max timestamp (brokers set it for LogAppendTime). */
  maxTimestamp?: bigint;
  /** At least one. */
  records: readonly RecordInput[];
}

export interface EncodeRecordBatchOptions {
  codecs?: CompressionCodecRegistry;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const SAFE_DELTA = BigInt(2 ** 52);

function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

function checkInt64(name: string, value: bigint): void {
  if (typeof value !== "bigint" || value < INT64_MIN || value > INT64_MAX) {
    throw new RangeError(`${name} must be an int64 bigint, got ${String(value)}`);
  }
}

function toBytes(v: Uint8Array | string): Uint8Array {
  return typeof v === "string" ? Buffer.from(v, "utf8") : v;
}

function sizeOfBytes(b: Uint8Array | null): number {
  return b === null ? 1 : sizeOfVarint(b.length) + b.length;
}

function writeBytes(out: Buffer, pos: number, b: Uint8Array | null): number {
  if (b === null) return writeVarint(out, pos, -1);
  pos = writeVarint(out, pos, b.length);
  if (b.length > 0) out.set(b, pos);
  return pos + b.length;
}

/**
 * Build one v2 record batch: records laid out (and compressed) as Kafka's
 * Java producer lays them out, with lastOffsetDelta, base and max timestamp,
 * record count and CRC-32C computed. The base timestamp is the first
 * record's timestamp, as in Java's `MemoryRecordsBuilder`; deltas may be
 * negative.
 */
export function encodeRecordBatch(
  input: EncodeRecordBatchInput,
  opts: EncodeRecordBatchOptions = {},
): Buffer {
  const codecs = opts.codecs ?? defaultCompressionCodecs;
  const baseOffset = input.baseOffset ?? 0n;
  const partitionLeaderEpoch = input.partitionLeaderEpoch ?? -1;
  const producerId = input.producerId ?? -1n;
  const producerEpoch = input.producerEpoch ?? -1;
  const baseSequence = input.baseSequence ?? -1;
  const timestampType = input.timestampType ?? TimestampType.CreateTime;
  const compression = input.compression ?? CompressionType.None;
  checkInt64("baseOffset", baseOffset);
  checkInt("partitionLeaderEpoch", partitionLeaderEpoch, -(2 ** 31), 2 ** 31 - 1);
  checkInt64("producerId", producerId);
  checkInt("producerEpoch", producerEpoch, -(2 ** 15), 2 ** 15 - 1);
  checkInt("baseSequence", baseSequence, -(2 ** 31), 2 ** 31 - 1);
  checkInt("compression", compression, 0, 7);
  if (timestampType !== TimestampType.CreateTime && timestampType !== TimestampType.LogAppendTime) {
    throw new RangeError(`timestampType must be 0 or 1, got ${String(timestampType)}`);
  }
  const codec = compression === CompressionType.None ? null : codecs.get(compression);

  const records = input.records;
  const count = records.length;
  if (count === 0) throw new RangeError("a record batch needs at least one record");

  // Pass 1: normalise inputs and size every record, so that pass 2 writes
  // straight into one buffer of the exact size.
  const baseTimestamp = records[0]!.timestamp;
  checkInt64("records[0].timestamp", baseTimestamp);
  let maxTimestamp = baseTimestamp;
  const keys: (Uint8Array | null)[] = new Array(count);
  const values: (Uint8Array | null)[] = new Array(count);
  const tsDeltas: (number | bigint)[] = new Array(count);
  const offsetDeltas = new Int32Array(count);
  const bodySizes = new Int32Array(count);
  const headerSets: (Uint8Array | null)[][] = new Array(count);
  let prevOffsetDelta = -1;
  let recordsSize = 0;
  for (let i = 0; i < count; i++) {
    const r = records[i]!;
    const offsetDelta = r.offsetDelta ?? i;
    if (
      !Number.isInteger(offsetDelta) ||
      offsetDelta <= prevOffsetDelta ||
      offsetDelta > 2 ** 31 - 1
    ) {
      throw new RangeError(
        `records[${i}].offsetDelta ${offsetDelta} must be an int32 above the previous (${prevOffsetDelta})`,
      );
    }
    prevOffsetDelta = offsetDelta;
    offsetDeltas[i] = offsetDelta;
    const ts = r.timestamp;
    checkInt64(`records[${i}].timestamp`, ts);
    if (ts > maxTimestamp) maxTimestamp = ts;
    const bigDelta = ts - baseTimestamp;
    checkInt64(`records[${i}].timestamp delta`, bigDelta);
    const tsDelta = bigDelta > -SAFE_DELTA && bigDelta < SAFE_DELTA ? Number(bigDelta) : bigDelta;
    tsDeltas[i] = tsDelta;
    const attributes = r.attributes ?? 0;
    checkInt(`records[${i}].attributes`, attributes, -128, 127);
    const key = r.key === null ? null : toBytes(r.key);
    const value = r.value === null ? null : toBytes(r.value);
    keys[i] = key;
    values[i] = value;
    const headers = r.headers ?? [];
    const flat: (Uint8Array | null)[] = new Array(headers.length * 2);
    let size =
      1 +
      sizeOfVarlong(tsDelta) +
      sizeOfVarint(offsetDelta) +
      sizeOfBytes(key) +
      sizeOfBytes(value) +
      sizeOfVarint(headers.length);
    for (let h = 0; h < headers.length; h++) {
      const hdr = headers[h]!;
      const hk = toBytes(hdr.key);
      const hv = hdr.value === null ? null : toBytes(hdr.value);
      flat[2 * h] = hk;
      flat[2 * h + 1] = hv;
      size += sizeOfBytes(hk) + sizeOfBytes(hv);
    }
    headerSets[i] = flat;
    bodySizes[i] = size;
    recordsSize += sizeOfVarint(size) + size;
  }
  if (input.maxTimestamp !== undefined) {
    checkInt64("maxTimestamp", input.maxTimestamp);
    maxTimestamp = input.maxTimestamp;
  }

  // Pass 2: write. Uncompressed records go straight after the header.
  const recordsBuf =
    codec === null
      ? Buffer.allocUnsafe(RECORDS_OFFSET + recordsSize)
      : Buffer.allocUnsafe(recordsSize);
  let pos = codec === null ? RECORDS_OFFSET : 0;
  for (let i = 0; i < count; i++) {
    pos = writeVarint(recordsBuf, pos, bodySizes[i]!);
    recordsBuf[pos++] = (records[i]!.attributes ?? 0) & 0xff;
    pos = writeVarlong(recordsBuf, pos, tsDeltas[i]!);
    pos = writeVarint(recordsBuf, pos, offsetDeltas[i]!);
    pos = writeBytes(recordsBuf, pos, keys[i]!);
    pos = writeBytes(recordsBuf, pos, values[i]!);
    const flat = headerSets[i]!;
    pos = writeVarint(recordsBuf, pos, flat.length / 2);
    for (let h = 0; h < flat.length; h += 2) {
      pos = writeBytes(recordsBuf, pos, flat[h]!);
      pos = writeBytes(recordsBuf, pos, flat[h + 1]!);
    }
  }

  if (pos !== recordsBuf.length) {
    // Pass 1 and pass 2 disagree: a bug here, never a property of the input.
    throw new Error(`record batch encoder wrote ${pos} of ${recordsBuf.length} bytes`);
  }

  let out: Buffer;
  if (codec === null) {
    out = recordsBuf;
  } else {
    const compressed = codec.compress(recordsBuf);
    out = Buffer.allocUnsafe(RECORDS_OFFSET + compressed.length);
    compressed.copy(out, RECORDS_OFFSET);
  }

  let attributes = compression;
  if (timestampType === TimestampType.LogAppendTime) attributes |= TIMESTAMP_TYPE_MASK;
  if (input.isTransactional) attributes |= TRANSACTIONAL_FLAG_MASK;
  if (input.isControl) attributes |= CONTROL_FLAG_MASK;

  out.writeBigInt64BE(baseOffset, BASE_OFFSET_OFFSET);
  out.writeInt32BE(out.length - LOG_OVERHEAD, LENGTH_OFFSET);
  out.writeInt32BE(partitionLeaderEpoch, PARTITION_LEADER_EPOCH_OFFSET);
  out.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
  out.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  out.writeInt32BE(offsetDeltas[count - 1]!, LAST_OFFSET_DELTA_OFFSET);
  out.writeBigInt64BE(baseTimestamp, BASE_TIMESTAMP_OFFSET);
  out.writeBigInt64BE(maxTimestamp, MAX_TIMESTAMP_OFFSET);
  out.writeBigInt64BE(producerId, PRODUCER_ID_OFFSET);
  out.writeInt16BE(producerEpoch, PRODUCER_EPOCH_OFFSET);
  out.writeInt32BE(baseSequence, BASE_SEQUENCE_OFFSET);
  out.writeInt32BE(count, RECORDS_COUNT_OFFSET);
  out.writeUInt32BE(crc32c(out, ATTRIBUTES_OFFSET, out.length), CRC_OFFSET);
  return out;
}
