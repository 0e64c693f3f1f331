import { type CompressionCodecRegistry, encodeRecordBatch, RecordBatch } from "@geo/record-batch";
import type { ProduceInput, RecordsInput } from "./produce-types";

/** What the producer keeps of a batch to send. */
export interface BatchFields {
  raw: Buffer;
  recordCount: number;
  lastOffsetDelta: number;
}

/**
 * A batch to produce, checked (v2, not a control batch, contiguous offsets, the buffer exactly one
 * batch) or encoded from records; a TypeError says what is wrong with one that cannot be sent.
 */
export function batchFields(
  input: ProduceInput,
  codecs: CompressionCodecRegistry | undefined,
): BatchFields {
  let batch: RecordBatch;
  if (Buffer.isBuffer(input)) {
    batch = new RecordBatch(input);
  } else if (input instanceof RecordBatch) {
    batch = input;
  } else if (
    input !== null &&
    typeof input === "object" &&
    Array.isArray((input as RecordsInput).records)
  ) {
    const r = input as RecordsInput;
    const raw = encodeRecordBatch(
      {
        records: r.records,
        ...(r.compression === undefined ? {} : { compression: r.compression }),
        ...(r.timestampType === undefined ? {} : { timestampType: r.timestampType }),
      },
      codecs === undefined ? {} : { codecs },
    );
    return {
      raw,
      recordCount: r.records.length,
      lastOffsetDelta: new RecordBatch(raw).lastOffsetDelta,
    };
  } else {
    throw new TypeError("produce: a batch is a Buffer, a RecordBatch or { records }");
  }
  if (batch.magic !== 2)
    throw new TypeError(`produce: only v2 record batches can be produced (magic ${batch.magic})`);
  if (batch.raw.length !== batch.batchLength + 12) {
    throw new TypeError(
      `produce: the buffer holds ${batch.raw.length} bytes but its batch ${batch.batchLength + 12}`,
    );
  }
  if (batch.isControl)
    throw new TypeError("produce: control batches (transaction markers) cannot be produced");
  if (batch.recordCount < 1 || !batch.hasContiguousOffsets) {
    // Brokers refuse a batch whose count is not lastOffsetDelta + 1 (compacted source batches).
    throw new TypeError(
      `produce: batch at source offset ${batch.baseOffset} has ${batch.recordCount} records over ${batch.lastOffsetDelta + 1} offsets; re-encode it from its records`,
    );
  }
  return {
    raw: batch.raw,
    recordCount: batch.recordCount,
    lastOffsetDelta: batch.lastOffsetDelta,
  };
}
