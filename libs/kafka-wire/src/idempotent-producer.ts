import { WakeTimer } from "@geo/backoff";
import { KafkaWireError, PartitionFailedError, WireClosedError } from "./kafka-wire-error";
import type {
  IdempotentProducer,
  IdempotentProducerOptions,
  PartitionProducerState,
  ProduceInput,
  ProduceOptions,
  ProduceResult,
} from "./produce-types";
import type { ProducerEnv, ProducerSettings } from "./producer-env";
import { ProducerIds } from "./producer-ids";
import { type BatchFields, batchFields } from "./producer-input";
import { ProduceOutcomes } from "./producer-outcomes";
import {
  deadlineOf,
  type Entry,
  newPartitionState,
  type PartitionState,
  partitionKey,
} from "./producer-partition";
import { sendProduceRequest } from "./producer-requests";
import { SendRound } from "./producer-send-round";
import type { KafkaWireClient } from "./wire-client";

const MiB = 1024 * 1024;

export function createIdempotentProducer(
  client: KafkaWireClient,
  options: IdempotentProducerOptions = {},
): IdempotentProducer {
  return new Producer(client, options);
}

/**
 * The idempotent producer (see {@link IdempotentProducer}): queues batches per partition and
 * runs send rounds. Its parts: producer ids (producer-ids), a partition's sequence bookkeeping
 * (producer-partition), a send round (producer-send-round), the Produce request
 * (producer-requests), and what each outcome does, retries included (producer-outcomes).
 */
class Producer implements IdempotentProducer, ProducerEnv {
  readonly settings: ProducerSettings;
  private readonly partitions = new Map<string, PartitionState>();
  /** Partitions reset since: their next state needs a producer id newer than this generation. */
  private readonly resetGens = new Map<string, number>();
  private readonly outcomes: ProduceOutcomes;
  private readonly ids: ProducerIds;
  private drainScheduled = false;
  private readonly wakeTimer = new WakeTimer(() => this.drain());
  private metadataRefreshing = false;
  closed = false;

  constructor(
    readonly client: KafkaWireClient,
    options: IdempotentProducerOptions,
  ) {
    this.settings = producerSettings(client, options);
    this.outcomes = new ProduceOutcomes(this);
    this.ids = new ProducerIds(this, this.outcomes, (p) => this.partitions.get(p.key) === p);
  }

  async init(): Promise<{ producerId: bigint; producerEpoch: number }> {
    const info = await this.ids.acquire(-1);
    return { producerId: info.producerId, producerEpoch: info.producerEpoch };
  }

  // ---- queueing ----

  private state(topic: string, partition: number): PartitionState {
    const key = partitionKey(topic, partition);
    let p = this.partitions.get(key);
    if (p === undefined) {
      p = newPartitionState(topic, partition, this.resetGens.get(key) ?? -1);
      this.partitions.set(key, p);
    }
    return p;
  }

  send(
    topic: string,
    partition: number,
    batch: ProduceInput,
    options: ProduceOptions = {},
  ): Promise<ProduceResult> {
    return this.produce(topic, partition, [batch], options).then((r) => r[0]!);
  }

  produce(
    topic: string,
    partition: number,
    batches: readonly ProduceInput[],
    options: ProduceOptions = {},
  ): Promise<ProduceResult[]> {
    if (this.closed) return Promise.reject(new WireClosedError("idempotent producer"));
    if (
      typeof topic !== "string" ||
      topic.length === 0 ||
      !Number.isInteger(partition) ||
      partition < 0
    ) {
      return Promise.reject(
        new TypeError(`produce: invalid topic-partition ${String(topic)}-${partition}`),
      );
    }
    let fields: BatchFields[];
    try {
      // All validated before any is queued: a bad batch in the middle queues none.
      fields = batches.map((b) => batchFields(b, this.settings.codecs));
    } catch (e) {
      return Promise.reject(e);
    }
    const timeoutMs = options.deliveryTimeoutMs ?? this.settings.deliveryTimeoutMs;
    if (typeof timeoutMs !== "number" || !(timeoutMs >= 0)) {
      return Promise.reject(
        new RangeError(`produce: deliveryTimeoutMs must be at least 0, got ${String(timeoutMs)}`),
      );
    }
    const p = this.state(topic, partition);
    if (p.failed !== null)
      return Promise.reject(new PartitionFailedError(topic, partition, p.failed));
    const given = options.deadline;
    const movingDeadline = typeof given === "function" ? given : null;
    const deadline = Math.min(
      typeof given === "number" ? given : Infinity,
      performance.now() + timeoutMs,
    );
    const promises = fields.map((f) => queueEntry(p, f, deadline, movingDeadline));
    this.scheduleDrain();
    return Promise.all(promises);
  }

  // ---- sending ----

  scheduleDrain(): void {
    if (this.drainScheduled || this.closed) return;
    this.drainScheduled = true;
    // setImmediate: batches queued in the same turn share requests.
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  scheduleWake(at: number): void {
    if (!this.closed) this.wakeTimer.wakeAt(at);
  }

  private drain(): void {
    if (this.closed) return;
    // Every wake-up still needed is registered again below; one for work that is gone
    // (say a deadline of a batch since acknowledged) must not keep the process alive.
    this.wakeTimer.cancel();
    const round = new SendRound(this, this.outcomes, this.ids, performance.now());
    for (const p of this.partitions.values()) round.add(p);
    // Whatever still waits must fail at its deadline even if nothing else happens (a moving
    // deadline is looked at again then, and the wake-up moves with it).
    for (const p of this.partitions.values()) {
      // A retrying partition wakes when its in-flight requests settled (afterOutcome).
      if (p.failed === null && !p.retrying && p.queue.length > 0) {
        this.scheduleWake(deadlineOf(p.queue[0]!));
      }
    }
    if (round.needMetadata.size > 0) this.refreshMetadata(round.needMetadata);
    for (const [nodeId, slots] of round.requests) {
      for (const s of slots) sendProduceRequest(this, this.outcomes, nodeId, s.entries);
    }
  }

  private refreshMetadata(topics: Set<string>): void {
    if (this.metadataRefreshing) return;
    this.metadataRefreshing = true;
    this.client.metadata.refresh(topics).then(
      () => {
        this.metadataRefreshing = false;
        this.scheduleDrain();
      },
      (e: unknown) => {
        this.metadataRefreshing = false;
        this.client.logger?.debug({ err: e }, "kafka-wire: metadata refresh failed");
        this.scheduleWake(performance.now() + this.settings.retryBackoffMs);
      },
    );
  }

  // ---- lifecycle ----

  partitionState(topic: string, partition: number): PartitionProducerState | undefined {
    const p = this.partitions.get(partitionKey(topic, partition));
    if (p === undefined) return undefined;
    return {
      producerId: p.pid?.producerId ?? null,
      producerEpoch: p.pid?.producerEpoch ?? -1,
      nextSequence: p.nextSeq,
      queued: p.queue.length,
      inFlight: p.inflight.length,
      failed: p.failed,
    };
  }

  async resetPartition(topic: string, partition: number): Promise<void> {
    const key = partitionKey(topic, partition);
    const p = this.partitions.get(key);
    if (p === undefined) return;
    if (p.failed === null) {
      this.outcomes.failPartition(
        p,
        new KafkaWireError("PARTITION_RESET", `${topic}-${partition} was reset`, {
          retriable: true,
          topic,
          partition,
        }),
      );
    }
    while (p.inflight.length > 0) await Promise.all(p.inflight.map((e) => e.settled));
    if (this.partitions.get(key) === p) {
      this.partitions.delete(key);
      // Its sequence numbers under the current producer id are spent: the next state takes a newer one.
      this.resetGens.set(key, Math.max(p.pid?.gen ?? -1, p.minGen, this.ids.currentGen));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeTimer.cancel();
    const closedError = new WireClosedError("idempotent producer");
    const waits: Promise<unknown>[] = [];
    for (const p of this.partitions.values()) {
      for (const e of p.queue) {
        e.state = "done";
        e.reject(closedError);
      }
      p.queue = [];
      p.inflight = p.inflight.filter((e) => {
        if (e.state !== "retry") return true;
        e.state = "done";
        e.reject(closedError);
        return false;
      });
      for (const e of p.inflight) waits.push(e.settled);
    }
    await Promise.all(waits);
  }
}

/** Queues one batch on its partition; the promise settles with its outcome. */
function queueEntry(
  p: PartitionState,
  fields: BatchFields,
  deadline: number,
  movingDeadline: (() => number) | null,
): Promise<ProduceResult> {
  let resolve!: (r: ProduceResult) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<ProduceResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const entry: Entry = {
    p,
    ...fields,
    deadline,
    movingDeadline,
    seq: null,
    producerId: -1n,
    producerEpoch: -1,
    attempts: 0,
    state: "queued",
    settled: promise.catch(() => {}),
    resolve,
    reject,
  };
  p.queue.push(entry);
  return promise;
}

function producerSettings(
  client: KafkaWireClient,
  options: IdempotentProducerOptions,
): ProducerSettings {
  const maxInFlight = options.maxInFlightPerPartition ?? 5;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 5) {
    throw new RangeError(
      `createIdempotentProducer: maxInFlightPerPartition must be 1-5, got ${maxInFlight}`,
    );
  }
  return {
    deliveryTimeoutMs: options.deliveryTimeoutMs ?? 30_000,
    requestTimeoutMs: options.requestTimeoutMs ?? client.requestTimeoutMs,
    maxInFlight,
    maxRequestBytes: options.maxRequestBytes ?? 4 * MiB,
    retryBackoffMs: options.retryBackoffMs ?? client.retryBackoffMs,
    maxRetryBackoffMs: options.maxRetryBackoffMs ?? 1000,
    unknownPartitionGraceMs: options.unknownPartitionGraceMs ?? 5000,
    codecs: options.codecs,
  };
}
