import type {
  CompressionCodecRegistry,
  RecordBatch,
  RecordInput,
  TimestampType,
} from "@geo/record-batch";
import type { KafkaWireError } from "./kafka-wire-error";

export interface IdempotentProducerOptions {
  /** Default delivery deadline of a batch, from the call that queued it. Default 30 000 ms. */
  deliveryTimeoutMs?: number;
  /** Client-side timeout of one Produce request (capped by the batches' deadlines). Default: the client's. */
  requestTimeoutMs?: number;
  /**
   * Produce requests per partition awaiting a response, 1-5. Default 5, the most a broker's
   * duplicate detection covers (it remembers the last 5 batches of each producer and partition).
   */
  maxInFlightPerPartition?: number;
  /** A request holds at most one batch per partition, and stops growing past this size. Default 4 MiB. */
  maxRequestBytes?: number;
  /** First retry pause; doubles per attempt up to maxRetryBackoffMs. Default: the client's (100 ms). */
  retryBackoffMs?: number;
  /** Default 1000 ms. */
  maxRetryBackoffMs?: number;
  /**
   * How long a partition the target's metadata does not have is looked up again (metadata
   * refreshed every retry pause) before its batches are refused with UNKNOWN_TOPIC_OR_PARTITION.
   * A partition just added, or a topic just created, is missing from metadata fetched before.
   * Default 5000 ms.
   */
  unknownPartitionGraceMs?: number;
  /** Codecs for batches built from records (default gzip, snappy, lz4, zstd). */
  codecs?: CompressionCodecRegistry;
}

/** Records to encode into one batch (re-encoding path: compacted or partly consumed source batches). */
export interface RecordsInput {
  records: readonly RecordInput[];
  /** Codec id (see `CompressionType`); default none. */
  compression?: number;
  timestampType?: TimestampType;
}

/** A raw v2 batch (forwarded as is, only the producer fields re-stamped), a decoded one, or records. */
export type ProduceInput = Buffer | RecordBatch | RecordsInput;

export interface ProduceOptions {
  /**
   * Absolute deadline on the monotonic clock (`performance.now()` ms), or a function that
   * gives it. Past it the batch is not sent again and the partition fails with
   * {@link DeliveryTimeoutError}; no request carrying the batch waits beyond it either. A
   * function is asked again whenever the producer decides whether to send, re-send or give up
   * on the batch, so a deadline that moves forward (the agent passes its lease deadline, which
   * each renewal extends) keeps a batch that was not acknowledged retried under the same
   * producer id and sequence numbers: the broker's duplicate detection then answers for one
   * it did write with its original offset. A function that throws or returns NaN means the
   * deadline passed. The earlier of this and the delivery timeout applies.
   */
  deadline?: number | (() => number);
  /**
   * This call's delivery timeout, from now, instead of the producer's `deliveryTimeoutMs`.
   * `Infinity` leaves `deadline` alone to bound the batches.
   */
  deliveryTimeoutMs?: number;
}

export interface ProduceResult {
  /** Offset the target gave the batch's first record. */
  baseOffset: bigint;
  /** baseOffset + lastOffsetDelta: forwarded batches are contiguous, so record i is at baseOffset + i. */
  lastOffset: bigint;
  recordCount: number;
  /** -1n unless the topic uses LogAppendTime. */
  logAppendTime: bigint;
  logStartOffset: bigint;
}

export interface PartitionProducerState {
  producerId: bigint | null;
  producerEpoch: number;
  nextSequence: number;
  queued: number;
  inFlight: number;
  failed: KafkaWireError | null;
}

/**
 * Idempotent producer of ready-made record batches (acks=all). One producer id from
 * InitProducerId, a sequence counter per partition, up to `maxInFlightPerPartition`
 * pipelined requests per partition; requests to a broker carry one batch of each
 * partition that has one ready.
 *
 * Failures:
 * - retriable (leader moved, connection lost, request timed out, not enough replicas):
 *   the batch and every later batch of the partition are sent again, in order and with
 *   the same sequence numbers, so the broker's duplicate detection turns a batch that had
 *   in fact been written into a success carrying its original offset;
 * - OUT_OF_ORDER_SEQUENCE_NUMBER / UNKNOWN_PRODUCER_ID on a partition's oldest
 *   unacknowledged batch (the broker lost or expired the producer's state): the partition
 *   takes a fresh producer id and re-sends from sequence 0; nothing it re-sends can have
 *   been written, since the broker's own state says so;
 * - refused batches (too large, not authorised, topic missing, invalid timestamp):
 *   {@link RecordRejectedError}, not retriable;
 * - past the deadline: {@link DeliveryTimeoutError}. Until then a batch whose request timed
 *   out or failed on the way is retried as above, however long that takes; a deadline that
 *   moves (a lease) is looked at again before each attempt and caps each request's timeout.
 * After a non-retriable error or a delivery timeout the partition is failed: later
 * batches reject with {@link PartitionFailedError} until `resetPartition`, which waits for
 * requests in flight and gives the partition a fresh producer id. A batch's outcome is
 * only ever reported once the broker has answered for it or it can no longer be sent.
 */
export interface IdempotentProducer {
  /** Obtain the producer id now (otherwise the first batch does). */
  init(): Promise<{ producerId: bigint; producerEpoch: number }>;
  /** Queue one batch; resolves when the target acknowledged it. Calls for a partition keep their order. */
  send(
    topic: string,
    partition: number,
    batch: ProduceInput,
    options?: ProduceOptions,
  ): Promise<ProduceResult>;
  /** Queue batches in order; all results, or the first error (use `send` per batch to see each outcome). */
  produce(
    topic: string,
    partition: number,
    batches: readonly ProduceInput[],
    options?: ProduceOptions,
  ): Promise<ProduceResult[]>;
  /** Drop a partition's state (queued batches are rejected), after its in-flight requests settle. */
  resetPartition(topic: string, partition: number): Promise<void>;
  partitionState(topic: string, partition: number): PartitionProducerState | undefined;
  /** Reject queued batches, wait for in-flight requests. The client stays open. */
  close(): Promise<void>;
}
