import { type CompressionCodecRegistry, defaultCompressionCodecs } from "./compression-codec";
import { crc32c } from "./crc32c";
import { CorruptRecordError, InvalidRecordError } from "./record-batch-error";
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG_MASK,
  CRC_OFFSET,
  DELETE_HORIZON_FLAG_MASK,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
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
import { cursor, readVarint, readVarlong, readVarlongNumber } from "./varint";

/** Attribute bit 3. */
export const TimestampType = {
  CreateTime: 0,
  LogAppendTime: 1,
} as const;
export type TimestampType = (typeof TimestampType)[keyof typeof TimestampType];

/** Type field of a control record key (Java's `ControlRecordType`). */
export const ControlRecordType = {
  Abort: 0,
  Commit: 1,
  QuorumReassignment: 2,
  LeaderChange: 3,
  SnapshotHeader: 4,
  SnapshotFooter: 5,
  KRaftVersion: 6,
  KRaftVoters: 7,
} as const;

/** What a record of a control batch says (key: version int16, type int16). */
export interface ControlRecord {
  version: number;
  /** {@link ControlRecordType}: 0 ABORT, 1 COMMIT for transaction markers. */
  controlType: number;
  /** From the value of ABORT/COMMIT markers (version int16, coordinator epoch int32); else null. */
  coordinatorEpoch: number | null;
}

/**
 * One record header. The key is kept as the raw bytes that were on the wire,
 * so a key that is not valid UTF-8 still round-trips byte for byte.
 */
export class RecordHeader {
  constructor(
    readonly key: Buffer,
    readonly value: Buffer | null,
  ) {}

  /** The key decoded as UTF-8 (invalid sequences become U+FFFD, as in Java). */
  get keyString(): string {
    return this.key.toString("utf8");
  }
}

export interface KafkaRecord {
  offset: bigint;
  offsetDelta: number;
  /** Create time, or the batch's max timestamp for LogAppendTime batches (as Java reports it). */
  timestamp: bigint;
  /** The record's int8 attributes (unused by Kafka so far, kept for fidelity). */
  attributes: number;
  /** null and empty are distinct: null is a varint length of -1. */
  key: Buffer | null;
  value: Buffer | null;
  /** In wire order, repeats kept. */
  headers: RecordHeader[];
  /** Set for the records of control batches only. */
  control: ControlRecord | null;
}

// A record is at least 7 bytes (length, attributes, timestamp delta, offset
// delta, key length, value length, header count); a header at least 2. These
// bound counts read from the wire before arrays are sized from them.
const MIN_RECORD_BYTES = 7;
const MIN_HEADER_BYTES = 2;

/**
 * One v2 batch of a Fetch response. Header fields are read eagerly (they are
 * fixed offsets); records are decoded, and decompressed, only by
 * {@link RecordBatch.records}. `raw` is a view into the buffer it was decoded
 * from, so it can be forwarded unchanged; it keeps that buffer alive.
 */
export class RecordBatch {
  readonly raw: Buffer;
  readonly baseOffset: bigint;
  /** Bytes after the length field: `raw.length - 12`. */
  readonly batchLength: number;
  readonly partitionLeaderEpoch: number;
  readonly magic: number;
  /** Stored CRC-32C, unsigned. */
  readonly crc: number;
  /** The int16 attributes field. */
  readonly attributes: number;
  readonly lastOffsetDelta: number;
  /** First record's timestamp, or the delete horizon when {@link hasDeleteHorizon}. */
  readonly baseTimestamp: bigint;
  readonly maxTimestamp: bigint;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
  private readonly codecs: CompressionCodecRegistry;

  /** `raw` must hold exactly one batch; use {@link decodeRecordBatches} to split a blob. */
  constructor(raw: Buffer, codecs: CompressionCodecRegistry = defaultCompressionCodecs) {
    if (raw.length < RECORDS_OFFSET) {
      throw new CorruptRecordError(
        `record batch of ${raw.length} bytes is smaller than the ${RECORDS_OFFSET}-byte header`,
      );
    }
    this.raw = raw;
    this.codecs = codecs;
    this.baseOffset = raw.readBigInt64BE(BASE_OFFSET_OFFSET);
    this.batchLength = raw.readInt32BE(LENGTH_OFFSET);
    this.partitionLeaderEpoch = raw.readInt32BE(PARTITION_LEADER_EPOCH_OFFSET);
    this.magic = raw.readInt8(MAGIC_OFFSET);
    this.crc = raw.readUInt32BE(CRC_OFFSET);
    this.attributes = raw.readInt16BE(ATTRIBUTES_OFFSET);
    this.lastOffsetDelta = raw.readInt32BE(LAST_OFFSET_DELTA_OFFSET);
    this.baseTimestamp = raw.readBigInt64BE(BASE_TIMESTAMP_OFFSET);
    this.maxTimestamp = raw.readBigInt64BE(MAX_TIMESTAMP_OFFSET);
    this.producerId = raw.readBigInt64BE(PRODUCER_ID_OFFSET);
    this.producerEpoch = raw.readInt16BE(PRODUCER_EPOCH_OFFSET);
    this.baseSequence = raw.readInt32BE(BASE_SEQUENCE_OFFSET);
    this.recordCount = raw.readInt32BE(RECORDS_COUNT_OFFSET);
  }

  /** Codec id, attribute bits 0-2 (see {@link CompressionType}). */
  get compression(): number {
    return this.attributes & COMPRESSION_CODEC_MASK;
  }

  get timestampType(): TimestampType {
    return this.attributes & TIMESTAMP_TYPE_MASK
      ? TimestampType.LogAppendTime
      : TimestampType.CreateTime;
  }

  get isTransactional(): boolean {
    return (this.attributes & TRANSACTIONAL_FLAG_MASK) !== 0;
  }

  get isControl(): boolean {
    return (this.attributes & CONTROL_FLAG_MASK) !== 0;
  }

  /** Set by log compaction (KIP-534): {@link baseTimestamp} then holds the delete horizon. */
  get hasDeleteHorizon(): boolean {
    return (this.attributes & DELETE_HORIZON_FLAG_MASK) !== 0;
  }

  get deleteHorizonMs(): bigint | null {
    return this.hasDeleteHorizon ? this.baseTimestamp : null;
  }

  /** Offset of the batch's last record as written (compaction may have removed it). */
  get lastOffset(): bigint {
    return this.baseOffset + BigInt(this.lastOffsetDelta);
  }

  /** Where the next fetch resumes: v2 keeps lastOffsetDelta through compaction. */
  get nextOffset(): bigint {
    return this.lastOffset + 1n;
  }

  /**
   * Whether the batch holds one record per offset (no compaction gaps). A
   * broker rejects a produced v2 batch whose record count differs from
   * lastOffsetDelta + 1, so only such batches can be forwarded as they are.
   */
  get hasContiguousOffsets(): boolean {
    return this.recordCount === this.lastOffsetDelta + 1;
  }

  /** CRC-32C over attributes..end, as computed now. */
  computeCrc(): number {
    return crc32c(this.raw, ATTRIBUTES_OFFSET, this.raw.length);
  }

  /** Throws {@link CorruptRecordError} when the stored CRC does not match the bytes. */
  verifyCrc(): void {
    const computed = this.computeCrc();
    if (computed !== this.crc) {
      throw new CorruptRecordError(
        `record batch at offset ${this.baseOffset} is corrupt (stored crc ${this.crc}, computed crc ${computed})`,
        { baseOffset: this.baseOffset },
      );
    }
  }

  /**
   * Decompress (when needed) and decode the records. Keys, values and header
   * fields are views into the batch (or into the decompressed buffer), not
   * copies. Throws {@link InvalidRecordError} when the records do not match
   * the declared count and sizes, as Java's iterator does.
   */
  records(): KafkaRecord[] {
    const count = this.recordCount;
    if (count === 0) return [];
    const baseOffset = this.baseOffset;
    if (count < 0) {
      throw new InvalidRecordError(`record batch declares ${count} records`, { baseOffset });
    }
    let buf: Buffer;
    let pos: number;
    const codecId = this.compression;
    if (codecId === 0) {
      buf = this.raw;
      pos = RECORDS_OFFSET;
    } else {
      const codec = this.codecs.get(codecId, baseOffset);
      buf = codec.decompress(this.raw.subarray(RECORDS_OFFSET));
      pos = 0;
    }
    const end = buf.length;
    if (count > (end - pos) / MIN_RECORD_BYTES) {
      throw new InvalidRecordError(
        `record batch declares ${count} records but holds only ${end - pos} bytes of them`,
        { baseOffset },
      );
    }
    const logAppendTime = this.attributes & TIMESTAMP_TYPE_MASK ? this.maxTimestamp : null;
    const isControl = this.isControl;
    const baseTimestamp = this.baseTimestamp;
    const records: KafkaRecord[] = new Array(count);
    try {
      for (let i = 0; i < count; i++) {
        const size = readVarint(buf, pos, end);
        pos = cursor.pos;
        if (size < 0 || size > end - pos) {
          throw new InvalidRecordError(
            `record ${i} declares ${size} bytes but ${end - pos} remain in the batch`,
          );
        }
        const recEnd = pos + size;
        if (size === 0) throw new InvalidRecordError(`record ${i} is empty`);
        const attributes = (buf[pos++]! << 24) >> 24;
        let timestampDelta: bigint;
        const fast = readVarlongNumber(buf, pos, recEnd);
        if (fast !== null) {
          timestampDelta = BigInt(fast);
        } else {
          timestampDelta = readVarlong(buf, pos, recEnd);
        }
        pos = cursor.pos;
        const offsetDelta = readVarint(buf, pos, recEnd);
        pos = cursor.pos;

        const keyLen = readVarint(buf, pos, recEnd);
        pos = cursor.pos;
        let key: Buffer | null = null;
        // Java treats any negative length as null; so do we.
        if (keyLen >= 0) {
          if (keyLen > recEnd - pos) throw new InvalidRecordError(`record ${i} key overruns it`);
          key = buf.subarray(pos, pos + keyLen);
          pos += keyLen;
        }
        const valueLen = readVarint(buf, pos, recEnd);
        pos = cursor.pos;
        let value: Buffer | null = null;
        if (valueLen >= 0) {
          if (valueLen > recEnd - pos)
            throw new InvalidRecordError(`record ${i} value overruns it`);
          value = buf.subarray(pos, pos + valueLen);
          pos += valueLen;
        }

        const headerCount = readVarint(buf, pos, recEnd);
        pos = cursor.pos;
        if (headerCount < 0 || headerCount > (recEnd - pos) / MIN_HEADER_BYTES) {
          throw new InvalidRecordError(`record ${i} declares ${headerCount} headers`);
        }
        const headers: RecordHeader[] = new Array(headerCount);
        for (let h = 0; h < headerCount; h++) {
          const hkLen = readVarint(buf, pos, recEnd);
          pos = cursor.pos;
          if (hkLen < 0 || hkLen > recEnd - pos) {
            throw new InvalidRecordError(`record ${i} header ${h} key size ${hkLen} is invalid`);
          }
          const hKey = buf.subarray(pos, pos + hkLen);
          pos += hkLen;
          const hvLen = readVarint(buf, pos, recEnd);
          pos = cursor.pos;
          let hValue: Buffer | null = null;
          if (hvLen >= 0) {
            if (hvLen > recEnd - pos) {
              throw new InvalidRecordError(`record ${i} header ${h} value overruns it`);
            }
            hValue = buf.subarray(pos, pos + hvLen);
            pos += hvLen;
          }
          headers[h] = new RecordHeader(hKey, hValue);
        }
        if (pos !== recEnd) {
          throw new InvalidRecordError(
            `record ${i} declares ${size} bytes but its fields take ${size - (recEnd - pos)}`,
          );
        }
        records[i] = {
          offset: baseOffset + BigInt(offsetDelta),
          offsetDelta,
          timestamp: logAppendTime ?? baseTimestamp + timestampDelta,
          attributes,
          key,
          value,
          headers,
          control: isControl ? parseControlRecord(key, value) : null,
        };
      }
    } catch (err) {
      if (err instanceof InvalidRecordError && err.baseOffset === undefined) {
        throw new InvalidRecordError(`record batch at offset ${baseOffset}: ${err.message}`, {
          baseOffset,
          cause: err,
        });
      }
      throw err;
    }
    if (pos !== end) {
      throw new InvalidRecordError(
        `record batch at offset ${baseOffset} has ${end - pos} bytes after its ${count} declared records`,
        { baseOffset },
      );
    }
    return records;
  }
}

function parseControlRecord(key: Buffer | null, value: Buffer | null): ControlRecord {
  if (key === null || key.length < 4) {
    throw new InvalidRecordError(
      `control record key has ${key === null ? "no" : key.length} bytes, at least 4 are needed`,
    );
  }
  const version = key.readInt16BE(0);
  if (version < 0)
    throw new InvalidRecordError(`control record key version ${version} is negative`);
  const controlType = key.readInt16BE(2);
  const isMarker =
    controlType === ControlRecordType.Abort || controlType === ControlRecordType.Commit;
  const coordinatorEpoch =
    isMarker && value !== null && value.length >= 6 ? value.readInt32BE(2) : null;
  return { version, controlType, coordinatorEpoch };
}
