import type { CompressionCodecRegistry } from "@geo/record-batch";
import type { KafkaWireClient } from "./wire-client";

/** The producer's options, defaults applied (see IdempotentProducerOptions). */
export interface ProducerSettings {
  deliveryTimeoutMs: number;
  requestTimeoutMs: number;
  maxInFlight: number;
  maxRequestBytes: number;
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
  unknownPartitionGraceMs: number;
  codecs: CompressionCodecRegistry | undefined;
}

/** What the parts of the idempotent producer share: its client, settings and scheduling. */
export interface ProducerEnv {
  readonly client: KafkaWireClient;
  readonly settings: ProducerSettings;
  readonly closed: boolean;
  /** Runs a send round soon (batches queued in the same turn share requests). */
  scheduleDrain(): void;
  /** Runs a send round at `at` (monotonic ms) unless one is due earlier. */
  scheduleWake(at: number): void;
}
