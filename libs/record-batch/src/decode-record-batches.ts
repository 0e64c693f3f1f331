import { type CompressionCodecRegistry, defaultCompressionCodecs } from "./compression-codec";
import { RecordBatch } from "./record-batch";
import { CorruptRecordError, UnsupportedMagicError } from "./record-batch-error";
import {
  CURRENT_MAGIC,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MIN_LEGACY_LENGTH,
  RECORD_BATCH_OVERHEAD,
} from "./record-batch-layout";

export interface DecodeRecordBatchesOptions {
  /** Check each batch's CRC-32C (default true). Off only for bytes already verified. */
  verifyCrc?: boolean;
  /** Codecs used later by {@link RecordBatch.records} (default: gzip, snappy, lz4, zstd). */
  codecs?: CompressionCodecRegistry;
}

/**
 * Split the records blob of one partition of a Fetch response into batches.
 *
 * A broker fills a Fetch response up to its byte limit and may cut the last
 * batch short; like Java's `ByteBufferLogInputStream`, bytes that do not make
 * a whole batch at the end are ignored, not an error. The caller learns how
 * far it got from the batches themselves: the bytes used are the sum of
 * `raw.length`, and the next fetch offset is the last batch's `nextOffset`.
 * If no whole batch fits, the result is empty and a larger fetch is needed.
 * Batches can start before the offset that was fetched; dropping the records
 * below it is the caller's job.
 *
 * Throws {@link UnsupportedMagicError} for a whole batch in the legacy
 * formats (magic 0/1: not decoded), {@link CorruptRecordError} for a length
 * field below the minimum or a CRC mismatch.
 */
export function decodeRecordBatches(
  buf: Buffer,
  opts: DecodeRecordBatchesOptions = {},
): RecordBatch[] {
  const verifyCrc = opts.verifyCrc ?? true;
  const codecs = opts.codecs ?? defaultCompressionCodecs;
  const batches: RecordBatch[] = [];
  let pos = 0;
  while (buf.length - pos >= LOG_OVERHEAD) {
    const length = buf.readInt32BE(pos + LENGTH_OFFSET);
    if (length < MIN_LEGACY_LENGTH) {
      throw new CorruptRecordError(
        `record batch at byte ${pos} has length ${length}, below the minimum ${MIN_LEGACY_LENGTH}`,
        { baseOffset: buf.readBigInt64BE(pos) },
      );
    }
    if (buf.length - pos - LOG_OVERHEAD < length) break;
    const baseOffset = buf.readBigInt64BE(pos);
    const magic = buf.readInt8(pos + MAGIC_OFFSET);
    if (magic !== CURRENT_MAGIC) throw new UnsupportedMagicError(magic, { baseOffset });
    if (length < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) {
      throw new CorruptRecordError(
        `record batch at offset ${baseOffset} has length ${length}, below the v2 header size`,
        { baseOffset },
      );
    }
    const end = pos + LOG_OVERHEAD + length;
    const batch = new RecordBatch(buf.subarray(pos, end), codecs);
    if (verifyCrc) batch.verifyCrc();
    batches.push(batch);
    pos = end;
  }
  return batches;
}
