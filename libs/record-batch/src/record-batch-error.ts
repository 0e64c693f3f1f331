import { CodedError } from "@geo/errors";

export type RecordBatchErrorCode =
  | "CORRUPT_RECORD"
  | "INVALID_RECORD"
  | "UNSUPPORTED_COMPRESSION"
  | "UNSUPPORTED_MAGIC";

/**
 * Base class of every error this package throws about batch contents.
 * `retriable` says whether fetching the same bytes again could succeed: a CRC
 * mismatch may be damage in transit, a well-formed but invalid batch is not.
 */
export class RecordBatchError extends CodedError<RecordBatchErrorCode> {
  /** Base offset of the batch concerned, when it was readable. */
  readonly baseOffset: bigint | undefined;

  constructor(
    code: RecordBatchErrorCode,
    message: string,
    opts: { retriable: boolean; baseOffset?: bigint | undefined; cause?: unknown },
  ) {
    super(code, message, { retriable: opts.retriable, cause: opts.cause });
    this.baseOffset = opts.baseOffset;
  }
}

/**
 * The batch's CRC-32C does not match its bytes, or its framing is impossible
 * (a length below the batch header size). Retriable, as in Kafka, where
 * `CorruptRecordException` is a `RetriableException`: a refetch may read an
 * intact copy.
 */
export class CorruptRecordError extends RecordBatchError {
  constructor(message: string, opts: { baseOffset?: bigint | undefined; cause?: unknown } = {}) {
    super("CORRUPT_RECORD", message, { ...opts, retriable: true });
  }
}

/**
 * The batch passed its CRC but its contents break the format (record sizes
 * that do not add up, a record count that does not match, undecompressable
 * data). The same bytes will fail the same way: not retriable.
 */
export class InvalidRecordError extends RecordBatchError {
  constructor(message: string, opts: { baseOffset?: bigint | undefined; cause?: unknown } = {}) {
    super("INVALID_RECORD", message, { ...opts, retriable: false });
  }
}

/** A compression codec id this process has no codec for (5-7, or one unregistered). */
export class UnsupportedCompressionError extends RecordBatchError {
  readonly compression: number;

  constructor(compression: number, opts: { baseOffset?: bigint | undefined } = {}) {
    super("UNSUPPORTED_COMPRESSION", `unsupported compression codec id ${compression}`, {
      ...opts,
      retriable: false,
    });
    this.compression = compression;
  }
}

/**
 * A batch in the legacy message-set formats (magic 0 or 1), or a magic from
 * the future. Brokers write magic 2 since Kafka 0.11 unless a topic pins an
 * old `message.format.version` (removed in Kafka 4.0); such data must be
 * read by a client that still speaks the legacy formats.
 */
export class UnsupportedMagicError extends RecordBatchError {
  readonly magic: number;

  constructor(magic: number, opts: { baseOffset?: bigint | undefined } = {}) {
    super("UNSUPPORTED_MAGIC", `unsupported record batch magic ${magic} (only magic 2 is read)`, {
      ...opts,
      retriable: false,
    });
    this.magic = magic;
  }
}
