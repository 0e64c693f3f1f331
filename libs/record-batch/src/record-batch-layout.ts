// Byte offsets of the RecordBatch v2 header, as in Java's DefaultRecordBatch.
// The CRC covers ATTRIBUTES..end; base offset, length, partition leader epoch
// and magic lie before it so a broker can assign them without re-hashing.

export const BASE_OFFSET_OFFSET = 0;
export const LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORDS_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;

/** Bytes before the length field's content starts: base offset + length. */
export const LOG_OVERHEAD = 12;
/** The fixed header of a v2 batch. */
export const RECORD_BATCH_OVERHEAD = RECORDS_OFFSET;
/** Smallest legal length field of any magic (a v0 message), as Java checks it. */
export const MIN_LEGACY_LENGTH = 14;

export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_FLAG_MASK = 0x10;
export const CONTROL_FLAG_MASK = 0x20;
export const DELETE_HORIZON_FLAG_MASK = 0x40;

export const CURRENT_MAGIC = 2;
