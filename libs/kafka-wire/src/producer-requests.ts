import { ApiKey } from "./api-keys";
import { KafkaErrorCode } from "./kafka-error-codes";
import { BrokerError } from "./kafka-wire-error";
import {
  decodeProduceResponse,
  encodeProduceRequest,
  PRODUCE_MAX_VERSION,
  PRODUCE_MIN_VERSION,
  type ProduceRequest,
  type ProduceResponse,
  type ProduceResponsePartition,
} from "./produce-protocol";
import type { ProducerEnv } from "./producer-env";
import type { ProduceOutcomes } from "./producer-outcomes";
import { deadlineOf, type Entry } from "./producer-partition";
import { asWireError } from "./wire-client";

/** Sends one Produce request carrying `entries` (at most one per partition) to a broker. */
export function sendProduceRequest(
  env: ProducerEnv,
  outcomes: ProduceOutcomes,
  nodeId: number,
  entries: Entry[],
): void {
  const now = performance.now();
  let deadline = Infinity;
  for (const e of entries) deadline = Math.min(deadline, deadlineOf(e));
  // The broker's wait for replicas and our wait for the answer both end by the deadline.
  const timeoutMs = Math.max(
    1,
    Math.floor(Math.min(env.settings.requestTimeoutMs, deadline - now)),
  );
  const request = produceRequest(entries, timeoutMs);
  env.client.transport
    .send(nodeId, {
      apiKey: ApiKey.Produce,
      apiName: "Produce",
      minVersion: PRODUCE_MIN_VERSION,
      maxVersion: PRODUCE_MAX_VERSION,
      encode: () => encodeProduceRequest(request),
      decode: (v, buf) => decodeProduceResponse(v, buf),
      throttleTimeMs: (r) => r.throttleTimeMs,
      timeoutMs,
    })
    .then(
      (response) => settleResponse(outcomes, entries, response, nodeId),
      (err: unknown) => {
        const error = asWireError(err);
        for (const e of entries) {
          if (error.retriable) env.client.metadata.invalidate(e.p.topic);
          outcomes.onError(e, error);
        }
      },
    );
}

/** The request: acks=all, the batches grouped by topic, each re-stamped with its producer fields. */
function produceRequest(entries: Entry[], timeoutMs: number): ProduceRequest {
  const byTopic = new Map<string, Entry[]>();
  for (const e of entries) {
    let list = byTopic.get(e.p.topic);
    if (list === undefined) {
      list = [];
      byTopic.set(e.p.topic, list);
    }
    list.push(e);
  }
  return {
    acks: -1,
    timeoutMs,
    topics: [...byTopic].map(([topic, list]) => ({
      topic,
      partitions: list.map((e) => ({
        partition: e.p.partition,
        batch: e.raw,
        stamp: {
          // Brokers refuse a client batch whose base offset is not 0 (INVALID_RECORD), and
          // a fetched batch carries its source offset; a producer also sends no leader epoch.
          baseOffset: 0n,
          partitionLeaderEpoch: -1,
          producerId: e.producerId,
          producerEpoch: e.producerEpoch,
          baseSequence: e.seq!,
          // Committed transactional source batches go out as plain idempotent ones.
          isTransactional: false,
        },
      })),
    })),
  };
}

/** Each batch's outcome from the broker's answer for its partition. */
function settleResponse(
  outcomes: ProduceOutcomes,
  entries: Entry[],
  response: ProduceResponse,
  nodeId: number,
): void {
  const byKey = new Map<string, ProduceResponsePartition>();
  for (const t of response.topics) {
    for (const part of t.partitions) byKey.set(`${t.topic}\u0000${part.partition}`, part);
  }
  for (const e of entries) {
    const part = byKey.get(e.p.key);
    if (part === undefined) {
      outcomes.onError(
        e,
        new BrokerError(KafkaErrorCode.UNKNOWN_SERVER_ERROR, e.p, { retriable: true }),
      );
    } else if (part.errorCode === KafkaErrorCode.NONE) {
      outcomes.onSuccess(e, part);
    } else {
      outcomes.onBrokerError(e, part, nodeId);
    }
  }
}
