import { delayAfter } from "@geo/backoff";
import { isRetriableKafkaError, isStaleMetadataError, KafkaErrorCode } from "./kafka-error-codes";
import {
  BrokerError,
  type KafkaWireError,
  PartitionFailedError,
  RecordRejectedError,
  WireClosedError,
} from "./kafka-wire-error";
import type { ProduceResponsePartition } from "./produce-protocol";
import type { ProducerEnv } from "./producer-env";
import { type Entry, type PartitionState, removeEntry } from "./producer-partition";

// Refusals that sending the same bytes again cannot fix.
const REJECTED = new Set<number>([
  KafkaErrorCode.CORRUPT_MESSAGE,
  KafkaErrorCode.MESSAGE_TOO_LARGE,
  KafkaErrorCode.INVALID_TOPIC_EXCEPTION,
  KafkaErrorCode.RECORD_LIST_TOO_LARGE,
  KafkaErrorCode.INVALID_REQUIRED_ACKS,
  KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED,
  KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  KafkaErrorCode.INVALID_TIMESTAMP,
  KafkaErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  KafkaErrorCode.POLICY_VIOLATION,
  KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
  KafkaErrorCode.INVALID_RECORD,
]);

/**
 * What becomes of a batch once the broker answered or the request failed, and the retry policy:
 * a retriable failure re-sends the partition's unacknowledged batches in order with their
 * sequence numbers (after a backoff, once nothing of it is in flight); a refusal or a
 * non-retriable error fails the partition, rejecting what it still holds.
 */
export class ProduceOutcomes {
  constructor(private readonly env: ProducerEnv) {}

  onSuccess(e: Entry, part: ProduceResponsePartition): void {
    const p = e.p;
    removeEntry(p.inflight, e);
    e.state = "done";
    if (e.producerId === p.pid?.producerId) p.confirmed = true;
    e.resolve({
      baseOffset: part.baseOffset,
      lastOffset: part.baseOffset + BigInt(e.lastOffsetDelta),
      recordCount: e.recordCount,
      logAppendTime: part.logAppendTime,
      logStartOffset: part.logStartOffset,
    });
    this.afterOutcome(p);
  }

  onBrokerError(e: Entry, part: ProduceResponsePartition, nodeId: number): void {
    const p = e.p;
    const code = part.errorCode;
    const loc = { topic: p.topic, partition: p.partition, broker: String(nodeId) };
    if (REJECTED.has(code)) {
      this.onError(
        e,
        new RecordRejectedError(code, loc, {
          brokerMessage: part.errorMessage,
          recordErrors: part.recordErrors,
        }),
      );
      return;
    }
    if (
      code === KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER ||
      code === KafkaErrorCode.UNKNOWN_PRODUCER_ID
    ) {
      // On the oldest unacknowledged batch, the broker's producer state is behind ours (lost
      // or expired): nothing from here on was written, so a fresh producer id is safe. On
      // a later batch it only echoes an earlier batch's failure: re-sending in order fixes it.
      if (p.inflight[0] === e && p.failed === null) p.needsNewPid = true;
      this.onError(
        e,
        new BrokerError(code, loc, { brokerMessage: part.errorMessage, retriable: true }),
      );
      return;
    }
    if (isStaleMetadataError(code)) this.env.client.metadata.invalidate(p.topic);
    this.onError(
      e,
      new BrokerError(code, loc, {
        brokerMessage: part.errorMessage,
        retriable: isRetriableKafkaError(code),
      }),
    );
  }

  onError(e: Entry, error: KafkaWireError): void {
    const p = e.p;
    if (p.failed !== null || this.env.closed) {
      removeEntry(p.inflight, e);
      e.state = "done";
      e.reject(
        p.failed === null ? error : new PartitionFailedError(p.topic, p.partition, p.failed),
      );
      this.afterOutcome(p);
      return;
    }
    if (!error.retriable) {
      removeEntry(p.inflight, e);
      e.state = "done";
      e.reject(error);
      this.failPartition(p, error);
      this.afterOutcome(p);
      return;
    }
    e.state = "retry";
    p.retrying = true;
    this.env.client.logger?.debug(
      { topic: p.topic, partition: p.partition, seq: e.seq, err: error.message },
      "kafka-wire: produce will be retried",
    );
    this.afterOutcome(p);
  }

  /** Once nothing of a retrying partition is in flight, queue its failed batches again, in order. */
  afterOutcome(p: PartitionState): void {
    if (p.inflight.some((x) => x.state === "inflight")) return;
    p.inflightNode = null;
    if (!p.retrying) {
      this.env.scheduleDrain();
      return;
    }
    p.retrying = false;
    const again = p.inflight;
    p.inflight = [];
    if (p.failed !== null || this.env.closed) {
      for (const e of again) {
        if (e.state === "done") continue;
        e.state = "done";
        e.reject(
          p.failed === null
            ? new WireClosedError("idempotent producer")
            : new PartitionFailedError(p.topic, p.partition, p.failed),
        );
      }
      return;
    }
    let attempts = 0;
    for (const e of again) {
      e.state = "queued";
      attempts = Math.max(attempts, e.attempts);
    }
    p.queue.unshift(...again);
    if (p.needsNewPid) {
      // Re-stamped from sequence 0 once the fresh producer id arrives.
      for (const e of p.queue) e.seq = null;
    }
    p.backoffUntil =
      performance.now() +
      delayAfter(attempts, {
        initialMs: Math.max(1, this.env.settings.retryBackoffMs),
        maxMs: Math.max(1, this.env.settings.retryBackoffMs, this.env.settings.maxRetryBackoffMs),
      });
    this.env.scheduleWake(p.backoffUntil);
  }

  /** `aboutHead`: the error is about the first queued batch, which gets it as is. */
  failPartition(p: PartitionState, error: KafkaWireError, aboutHead = false): void {
    if (p.failed !== null) return;
    p.failed = error;
    const queued = p.queue;
    p.queue = [];
    queued.forEach((e, i) => {
      e.state = "done";
      // The batches behind the one that failed learn why they stopped.
      e.reject(
        i === 0 && aboutHead ? error : new PartitionFailedError(p.topic, p.partition, error),
      );
    });
    // Batches waiting to be re-sent will not be.
    if (!p.inflight.some((x) => x.state === "inflight")) {
      for (const e of p.inflight) {
        e.state = "done";
        e.reject(new PartitionFailedError(p.topic, p.partition, error));
      }
      p.inflight = [];
      p.retrying = false;
    }
    this.env.client.logger?.warn(
      { topic: p.topic, partition: p.partition, code: error.code, err: error.message },
      "kafka-wire: partition stopped",
    );
  }
}
