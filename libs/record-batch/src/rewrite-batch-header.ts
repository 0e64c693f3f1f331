import { crc32c, crc32cCombineZeros, crc32cUpdate } from "./crc32c";
import { CorruptRecordError, UnsupportedMagicError } from "./record-batch-error";
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  CRC_OFFSET,
  CURRENT_MAGIC,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT_OFFSET,
  TRANSACTIONAL_FLAG_MASK,
} from "./record-batch-layout";

/** Fields to overwrite; those left undefined keep their value. */
export interface BatchHeaderPatch {
  /** Outside the CRC. */
  baseOffset?: bigint;
  /** Outside the CRC. */
  partitionLeaderEpoch?: number;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  /**
   * Attribute bit 4. A transactional source batch forwarded by a
   * non-transactional (idempotent) producer must have it cleared, or the
   * broker refuses it for lack of an ongoing transaction.
   */
  isTransactional?: boolean;
}

export interface RewriteBatchHeaderOptions {
  /** Patch `raw` itself instead of a copy (default false: `raw` usually views a Fetch response). */
  inPlace?: boolean;
  /** Verify the stored CRC before patching (default false: decoding already did). */
  verifyCrc?: boolean;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function checkInt(name: string, value: number, bits: 16 | 32): void {
  const lim = 2 ** (bits - 1);
  if (!Number.isInteger(value) || value < -lim || value > lim - 1) {
    throw new RangeError(`${name} must be an int${bits}, got ${value}`);
  }
}

function checkInt64(name: string, value: bigint): void {
  if (typeof value !== "bigint" || value < INT64_MIN || value > INT64_MAX) {
    throw new RangeError(`${name} must be an int64 bigint, got ${String(value)}`);
  }
}

/**
 * Re-stamp the producer fields of an existing v2 batch, compressed or not,
 * without touching its records: the "forward without recompressing" path.
 *
 * The CRC is not recomputed over the batch. CRC-32C is linear, so the new CRC
 * is the old one XOR the CRC of the changed bytes carried across the
 * unchanged tail, which costs O(log size) instead of a pass over the batch.
 * A side effect worth having: a batch whose stored CRC was already wrong
 * stays wrong, so forwarding cannot launder corruption into a valid batch.
 *
 * Keep in mind for forwarding: a broker rejects a produced batch whose record
 * count is not lastOffsetDelta + 1 (see `RecordBatch.hasContiguousOffsets`),
 * and it assigns baseOffset and partitionLeaderEpoch itself.
 */
export function rewriteBatchHeader(
  raw: Buffer,
  patch: BatchHeaderPatch,
  opts: RewriteBatchHeaderOptions = {},
): Buffer {
  if (raw.length < RECORD_BATCH_OVERHEAD) {
    throw new CorruptRecordError(`record batch of ${raw.length} bytes is smaller than its header`);
  }
  const baseOffset = raw.readBigInt64BE(BASE_OFFSET_OFFSET);
  const magic = raw.readInt8(MAGIC_OFFSET);
  if (magic !== CURRENT_MAGIC) throw new UnsupportedMagicError(magic, { baseOffset });
  const length = raw.readInt32BE(LENGTH_OFFSET);
  if (length !== raw.length - LOG_OVERHEAD) {
    throw new CorruptRecordError(
      `record batch length field ${length} does not match its ${raw.length} bytes`,
      { baseOffset },
    );
  }
  const storedCrc = raw.readUInt32BE(CRC_OFFSET);
  if (opts.verifyCrc) {
    const computed = crc32c(raw, ATTRIBUTES_OFFSET, raw.length);
    if (computed !== storedCrc) {
      throw new CorruptRecordError(
        `record batch at offset ${baseOffset} is corrupt (stored crc ${storedCrc}, computed crc ${computed})`,
        { baseOffset },
      );
    }
  }
  if (patch.baseOffset !== undefined) checkInt64("baseOffset", patch.baseOffset);
  if (patch.partitionLeaderEpoch !== undefined) {
    checkInt("partitionLeaderEpoch", patch.partitionLeaderEpoch, 32);
  }
  if (patch.producerId !== undefined) checkInt64("producerId", patch.producerId);
  if (patch.producerEpoch !== undefined) checkInt("producerEpoch", patch.producerEpoch, 16);
  if (patch.baseSequence !== undefined) checkInt("baseSequence", patch.baseSequence, 32);

  const out = opts.inPlace ? raw : Buffer.from(raw);
  if (patch.baseOffset !== undefined) out.writeBigInt64BE(patch.baseOffset, BASE_OFFSET_OFFSET);
  if (patch.partitionLeaderEpoch !== undefined) {
    out.writeInt32BE(patch.partitionLeaderEpoch, PARTITION_LEADER_EPOCH_OFFSET);
  }

  // Everything patched under the CRC lies in [ATTRIBUTES_OFFSET, RECORDS_COUNT_OFFSET).
  const before = Buffer.from(out.subarray(ATTRIBUTES_OFFSET, RECORDS_COUNT_OFFSET));
  if (patch.isTransactional !== undefined) {
    const attributes = out.readInt16BE(ATTRIBUTES_OFFSET);
    out.writeInt16BE(
      patch.isTransactional
        ? attributes | TRANSACTIONAL_FLAG_MASK
        : attributes & ~TRANSACTIONAL_FLAG_MASK,
      ATTRIBUTES_OFFSET,
    );
  }
  if (patch.producerId !== undefined) out.writeBigInt64BE(patch.producerId, PRODUCER_ID_OFFSET);
  if (patch.producerEpoch !== undefined) {
    out.writeInt16BE(patch.producerEpoch, PRODUCER_EPOCH_OFFSET);
  }
  if (patch.baseSequence !== undefined) out.writeInt32BE(patch.baseSequence, BASE_SEQUENCE_OFFSET);

  const diff = before;
  let changed = false;
  for (let i = 0; i < diff.length; i++) {
    diff[i] = diff[i]! ^ out[ATTRIBUTES_OFFSET + i]!;
    if (diff[i] !== 0) changed = true;
  }
  if (changed) {
    const delta = crc32cCombineZeros(
      crc32cUpdate(0, diff, 0, diff.length),
      out.length - RECORDS_COUNT_OFFSET,
    );
    out.writeUInt32BE((storedCrc ^ delta) >>> 0, CRC_OFFSET);
  }
  return out;
}
