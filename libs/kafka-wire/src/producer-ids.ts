import { ApiKey } from "./api-keys";
import {
  decodeInitProducerIdResponse,
  encodeInitProducerIdRequest,
  INIT_PRODUCER_ID_MAX_VERSION,
  INIT_PRODUCER_ID_MIN_VERSION,
} from "./init-producer-id-protocol";
import { KafkaErrorCode } from "./kafka-error-codes";
import { BrokerError, WireClosedError } from "./kafka-wire-error";
import type { ProducerEnv } from "./producer-env";
import type { ProduceOutcomes } from "./producer-outcomes";
import type { PartitionState, PidInfo } from "./producer-partition";
import { asWireError } from "./wire-client";

/**
 * The producer ids one producer obtains from InitProducerId, each of a higher generation: a
 * partition whose sequence numbers are spent under one (reset, or the broker lost its state)
 * asks for one newer than it.
 */
export class ProducerIds {
  private current: PidInfo | null = null;
  private pending: Promise<void> | null = null;
  private gen = 0;

  constructor(
    private readonly env: ProducerEnv,
    private readonly outcomes: ProduceOutcomes,
    /** Whether `p` is still the producer's state of its partition (not reset since). */
    private readonly isCurrent: (p: PartitionState) => boolean,
  ) {}

  /** The generation of the id in use; -1 before the first. */
  get currentGen(): number {
    return this.current?.gen ?? -1;
  }

  /** A producer id of a generation above `gen`, fetching one if the current is not. */
  async acquire(gen: number): Promise<PidInfo> {
    for (;;) {
      if (this.env.closed) throw new WireClosedError("idempotent producer");
      if (this.current !== null && this.current.gen > gen) return this.current;
      this.pending ??= this.fetch().finally(() => {
        this.pending = null;
      });
      await this.pending;
    }
  }

  private async fetch(): Promise<void> {
    const res = await this.env.client.transport.send(null, {
      apiKey: ApiKey.InitProducerId,
      apiName: "InitProducerId",
      minVersion: INIT_PRODUCER_ID_MIN_VERSION,
      maxVersion: INIT_PRODUCER_ID_MAX_VERSION,
      // No transactional id: an idempotent producer. The timeout is ignored then.
      encode: () =>
        encodeInitProducerIdRequest({ transactionalId: null, transactionTimeoutMs: 60_000 }),
      decode: (_v, buf) => decodeInitProducerIdResponse(buf),
      throttleTimeMs: (r) => r.throttleTimeMs,
      timeoutMs: this.env.settings.requestTimeoutMs,
    });
    if (res.errorCode !== KafkaErrorCode.NONE) throw new BrokerError(res.errorCode);
    this.current = {
      producerId: res.producerId,
      producerEpoch: res.producerEpoch,
      gen: ++this.gen,
    };
  }

  /** Gives `p` a producer id it may use (a fresh one when its own is burnt), sequence from 0. */
  obtainFor(p: PartitionState): void {
    if (p.pidPending) return;
    p.pidPending = true;
    const above = p.needsNewPid && p.pid !== null ? p.pid.gen : p.minGen;
    this.acquire(above).then(
      (info) => {
        p.pidPending = false;
        if (!this.isCurrent(p) || p.failed !== null) return;
        if (p.needsNewPid) {
          this.env.client.logger?.warn(
            { topic: p.topic, partition: p.partition, producerId: String(info.producerId) },
            "kafka-wire: partition restarts its sequence under a fresh producer id",
          );
        }
        p.pid = info;
        p.needsNewPid = false;
        p.nextSeq = 0;
        p.confirmed = false;
        this.env.scheduleDrain();
      },
      (e: unknown) => {
        p.pidPending = false;
        const error = asWireError(e);
        if (!error.retriable) {
          this.outcomes.failPartition(p, error, true);
          return;
        }
        p.backoffUntil = performance.now() + this.env.settings.retryBackoffMs;
        this.env.scheduleWake(p.backoffUntil);
      },
    );
  }
}
