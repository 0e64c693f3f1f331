export {
  type CompressionCodec,
  CompressionCodecRegistry,
  CompressionType,
  defaultCompressionCodecs,
  gzipCodec,
  lz4Codec,
  snappyCodec,
  zstdCodec,
} from "./compression-codec";
export { crc32c } from "./crc32c";
export { type DecodeRecordBatchesOptions, decodeRecordBatches } from "./decode-record-batches";
export {
  type EncodeRecordBatchInput,
  type EncodeRecordBatchOptions,
  encodeRecordBatch,
  type HeaderInput,
  type RecordInput,
} from "./encode-record-batch";
export { type AbortedTransaction, filterAborted } from "./filter-aborted";
export {
  type ControlRecord,
  ControlRecordType,
  type KafkaRecord,
  RecordBatch,
  RecordHeader,
  TimestampType,
} from "./record-batch";
export {
  CorruptRecordError,
  InvalidRecordError,
  RecordBatchError,
  type RecordBatchErrorCode,
  UnsupportedCompressionError,
  UnsupportedMagicError,
} from "./record-batch-error";
export {
  type BatchHeaderPatch,
  type RewriteBatchHeaderOptions,
  rewriteBatchHeader,
} from "./rewrite-batch-header";
export {
  cursor as varintCursor,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from "./varint";
