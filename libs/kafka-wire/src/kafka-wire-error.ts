import { CodedError } from "@geo/errors";
import { isRetriableKafkaError, kafkaErrorName } from "./kafka-error-codes";

/** Where an error happened, when it concerns one partition. */
export interface ErrorLocation {
  topic?: string | undefined;
  partition?: number | undefined;
  /** `host:port` or node id of the broker concerned. */
  broker?: string | undefined;
}

/**
 * Base class of every error this package throws or reports. `code` is Kafka's error name
 * for errors a broker returned (`NOT_LEADER_OR_FOLLOWER`), or one of this package's own
 * codes (`CONNECTION_ERROR`, `REQUEST_TIMEOUT`, `DELIVERY_TIMEOUT`, `RECORD_REJECTED`,
 * `OFFSET_OUT_OF_RANGE`, `PARTITION_FAILED`, `MALFORMED_RESPONSE`, `UNSUPPORTED_VERSION`,
 * `AUTHENTICATION_FAILED`, `CLOSED`, `UNKNOWN`). `retriable` says whether the same
 * operation may succeed if tried again, as in kafkajs.
 */
export class KafkaWireError extends CodedError {
  /** Kafka's numeric error code when a broker returned one. */
  readonly kafkaErrorCode: number | undefined;
  readonly topic: string | undefined;
  readonly partition: number | undefined;
  readonly broker: string | undefined;

  constructor(
    code: string,
    message: string,
    opts: {
      retriable: boolean;
      kafkaErrorCode?: number | undefined;
      cause?: unknown;
    } & ErrorLocation,
  ) {
    super(code, message, { retriable: opts.retriable, cause: opts.cause });
    this.kafkaErrorCode = opts.kafkaErrorCode;
    this.topic = opts.topic;
    this.partition = opts.partition;
    this.broker = opts.broker;
  }
}

function where(loc: ErrorLocation): string {
  const parts: string[] = [];
  if (loc.topic !== undefined) {
    parts.push(loc.partition === undefined ? loc.topic : `${loc.topic}-${loc.partition}`);
  }
  if (loc.broker !== undefined) parts.push(`broker ${loc.broker}`);
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`;
}

/** A Kafka error code a broker returned; `code` is its Kafka name. */
export class BrokerError extends KafkaWireError {
  /** The broker's own message (Produce v8+ `error_message`), when it sent one. */
  readonly brokerMessage: string | null;

  constructor(
    kafkaErrorCode: number,
    loc: ErrorLocation = {},
    opts: { brokerMessage?: string | null; retriable?: boolean } = {},
  ) {
    const name = kafkaErrorName(kafkaErrorCode);
    const detail = opts.brokerMessage ? `: ${opts.brokerMessage}` : "";
    super(name, `broker returned ${name}${where(loc)}${detail}`, {
      ...loc,
      kafkaErrorCode,
      retriable: opts.retriable ?? isRetriableKafkaError(kafkaErrorCode),
    });
    this.brokerMessage = opts.brokerMessage ?? null;
  }
}

/**
 * The fetch position is outside the partition's log: below its log start offset (deleted
 * by retention, truncated, the topic recreated) or above its high watermark. Not
 * retriable: the caller applies its own policy (report the gap, then restart at
 * `logStartOffset` or `highWatermark`). Bounds are -1n when they could not be listed.
 */
export class OffsetOutOfRangeError extends KafkaWireError {
  readonly fetchOffset: bigint;
  readonly logStartOffset: bigint;
  readonly highWatermark: bigint;

  constructor(
    topic: string,
    partition: number,
    fetchOffset: bigint,
    bounds: { logStartOffset: bigint; highWatermark: bigint },
  ) {
    super(
      "OFFSET_OUT_OF_RANGE",
      `offset ${fetchOffset} is out of range for ${topic}-${partition} (log start ${bounds.logStartOffset}, high watermark ${bounds.highWatermark})`,
      { retriable: false, kafkaErrorCode: 1, topic, partition },
    );
    this.fetchOffset = fetchOffset;
    this.logStartOffset = bounds.logStartOffset;
    this.highWatermark = bounds.highWatermark;
  }
}

/** Per-record detail of a rejection (Produce v8+ `record_errors`). */
export interface RecordErrorDetail {
  batchIndex: number;
  message: string | null;
}

/**
 * The target refused the batch for a reason that sending it again cannot fix (too large,
 * not authorised, topic missing, invalid timestamp, policy). Not retriable: the agent
 * stops that partition and shows `reason`.
 */
export class RecordRejectedError extends KafkaWireError {
  /** Kafka's error name, e.g. `MESSAGE_TOO_LARGE`, `TOPIC_AUTHORIZATION_FAILED`. */
  readonly reason: string;
  readonly brokerMessage: string | null;
  readonly recordErrors: readonly RecordErrorDetail[];

  constructor(
    kafkaErrorCode: number,
    loc: ErrorLocation & { topic: string; partition: number },
    opts: {
      brokerMessage?: string | null;
      recordErrors?: readonly RecordErrorDetail[];
      detail?: string;
    } = {},
  ) {
    const reason = kafkaErrorName(kafkaErrorCode);
    const extra = opts.detail ?? opts.brokerMessage ?? "";
    super(
      "RECORD_REJECTED",
      `${loc.topic}-${loc.partition} refused the batch: ${reason}${extra ? `: ${extra}` : ""}`,
      { ...loc, kafkaErrorCode, retriable: false },
    );
    this.reason = reason;
    this.brokerMessage = opts.brokerMessage ?? null;
    this.recordErrors = opts.recordErrors ?? [];
  }
}

/** The connection to a broker failed or closed; the request may or may not have been processed. */
export class ConnectionError extends KafkaWireError {
  constructor(message: string, loc: ErrorLocation = {}, cause?: unknown) {
    super("CONNECTION_ERROR", `${message}${where(loc)}`, { ...loc, retriable: true, cause });
  }
}

/** No response within the request timeout; the request may or may not have been processed. */
export class RequestTimeoutError extends KafkaWireError {
  constructor(message: string, loc: ErrorLocation = {}, cause?: unknown) {
    super("REQUEST_TIMEOUT", `${message}${where(loc)}`, { ...loc, retriable: true, cause });
  }
}

/**
 * A batch was not acknowledged before its delivery deadline. The partition stops (its
 * later batches fail with {@link PartitionFailedError}); resume from the last
 * acknowledged position after `resetPartition`. Retriable in that sense only.
 */
export class DeliveryTimeoutError extends KafkaWireError {
  constructor(topic: string, partition: number, message: string, cause?: unknown) {
    super("DELIVERY_TIMEOUT", `${topic}-${partition}: ${message}`, {
      topic,
      partition,
      retriable: true,
      cause,
    });
  }
}

/**
 * A batch was not sent, or its outcome is unknown, because an earlier batch of the same
 * partition failed (`cause`). The partition accepts nothing until it is reset.
 */
export class PartitionFailedError extends KafkaWireError {
  constructor(topic: string, partition: number, cause: KafkaWireError | Error) {
    super(
      "PARTITION_FAILED",
      `${topic}-${partition} stopped after an earlier batch failed: ${cause.message}`,
      {
        topic,
        partition,
        retriable: cause instanceof KafkaWireError ? cause.retriable : false,
        cause,
      },
    );
  }
}

/** A response that does not parse; the request is failed (retriable: the next one may parse). */
export class MalformedResponseError extends KafkaWireError {
  constructor(message: string) {
    super("MALFORMED_RESPONSE", message, { retriable: true });
  }
}

/** The broker does not support a protocol version this package can speak. */
export class UnsupportedVersionError extends KafkaWireError {
  constructor(message: string, loc: ErrorLocation = {}) {
    super("UNSUPPORTED_VERSION", `${message}${where(loc)}`, { ...loc, retriable: false });
  }
}

/** The client, fetcher or producer was closed. */
export class WireClosedError extends KafkaWireError {
  constructor(what: string) {
    super("CLOSED", `${what} is closed`, { retriable: false });
  }
}
