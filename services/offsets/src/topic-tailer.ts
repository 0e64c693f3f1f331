import { runLoop, sleep } from "@geo/backoff";
import {
  createPartitionFetcher,
  type KafkaWireClient,
  OffsetOutOfRangeError,
  type PartitionFetcher,
} from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import type { KafkaRecord } from "@geo/record-batch";

/** What a tailed topic's records go to; throwing skips the record (counted and logged). */
export type RecordHandler = (record: KafkaRecord, topic: string) => void;

interface Position {
  topic: string;
  handler: RecordHandler;
  /** Next offset to read; undefined until the topic exists. */
  offset: bigint | undefined;
  /** The topic's end when first seen: reading up to it is "built". */
  initialEnd: bigint | undefined;
  built: boolean;
}

export interface TopicTailerOptions {
  client: KafkaWireClient;
  cluster: string;
  logger: Logger;
  /** How long a fetch waits for new records. Default 500 ms. */
  maxWaitMs?: number;
  /** Reported while rebuilding; default every 2 s. */
  progressLogMs?: number;
}

/**
 * Reads single-partition topics of one cluster from their log start and keeps following them
 * (no consumer group: nothing is written to the cluster). A topic that does not exist yet reads
 * as empty and built, and is looked for again every few seconds. Broken connections are retried
 * with the shared backoff; positions are kept across failures.
 */
export class TopicTailer {
  private readonly positions = new Map<string, Position>();
  private readonly fetcher: PartitionFetcher;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private lastMissingCheck = Number.NEGATIVE_INFINITY;
  private lastProgressLog = 0;
  private skipped = 0;
  records = 0;

  constructor(private readonly options: TopicTailerOptions) {
    this.fetcher = createPartitionFetcher(options.client, {
      maxWaitMs: options.maxWaitMs ?? 500,
      partitionMaxBytes: 4 * 1024 * 1024,
    });
  }

  follow(topic: string, handler: RecordHandler): void {
    if (this.positions.has(topic)) return;
    this.positions.set(topic, {
      topic,
      handler,
      offset: undefined,
      initialEnd: undefined,
      built: false,
    });
    this.lastMissingCheck = Number.NEGATIVE_INFINITY;
  }

  /** Every followed topic has been read up to where it ended when first seen. */
  get built(): boolean {
    for (const p of this.positions.values()) if (!p.built) return false;
    return true;
  }

  start(): void {
    this.loop ??= followLoop((signal) => this.iteration(signal), {
      signal: this.abort.signal,
      logger: this.options.logger,
      cluster: this.options.cluster,
      message: "offsets: reading the target's offset topics failed; retrying",
    });
  }

  private async iteration(signal: AbortSignal): Promise<void> {
    await this.locateTopics();
    const ready = [...this.positions.values()].filter((p) => p.offset !== undefined);
    if (ready.length === 0) {
      await sleep(1000, signal);
      return;
    }
    const results = await this.fetcher.fetch(
      ready.map((p) => ({ topic: p.topic, partition: 0, offset: p.offset! })),
    );
    for (const [i, result] of results.entries()) {
      const position = ready[i]!;
      if (result.error !== null) {
        if (result.error instanceof OffsetOutOfRangeError) {
          position.offset = result.error.logStartOffset;
          continue;
        }
        throw result.error;
      }
      for (const batch of result.batches) {
        for (const record of batch.records()) {
          if (record.offset < position.offset!) continue;
          this.deliver(position, record);
        }
      }
      position.offset = result.nextOffset;
      this.markBuilt(position);
    }
    this.logProgress();
  }

  private deliver(position: Position, record: KafkaRecord): void {
    this.records++;
    try {
      position.handler(record, position.topic);
    } catch (error) {
      if (this.skipped++ % 1000 === 0) {
        this.options.logger.warn(
          { cluster: this.options.cluster, topic: position.topic, err: (error as Error).message },
          "offsets: skipped a record this version cannot read",
        );
      }
    }
  }

  private markBuilt(position: Position): void {
    if (position.built || position.initialEnd === undefined) return;
    if (position.offset! >= position.initialEnd) {
      position.built = true;
      this.options.logger.info(
        { cluster: this.options.cluster, topic: position.topic, records: this.records },
        "offsets: read the topic to its end",
      );
    }
  }

  /** Finds the start and end of topics not located yet (all at first, then every 5 s). */
  private async locateTopics(): Promise<void> {
    const missing = [...this.positions.values()].filter((p) => p.offset === undefined);
    if (missing.length === 0 || performance.now() - this.lastMissingCheck < 5000) return;
    this.lastMissingCheck = performance.now();
    const client = this.options.client;
    await client.metadata.refresh(missing.map((p) => p.topic));
    for (const p of missing) {
      if (client.metadata.lookup(p.topic, 0)?.kind === "missing") {
        p.built = true;
        continue;
      }
      const [start] = await this.fetcher.listOffsets(p.topic, [0], "earliest");
      const [end] = await this.fetcher.listOffsets(p.topic, [0], "latest");
      p.offset = start!.offset;
      p.initialEnd = end!.offset;
      this.markBuilt(p);
    }
  }

  private logProgress(): void {
    const now = performance.now();
    if (this.built || now - this.lastProgressLog < (this.options.progressLogMs ?? 2000)) return;
    this.lastProgressLog = now;
    const pending = [...this.positions.values()].filter((p) => !p.built);
    this.options.logger.info(
      {
        cluster: this.options.cluster,
        records: this.records,
        pending: pending.map((p) => ({
          topic: p.topic,
          offset: p.offset?.toString(),
          end: p.initialEnd?.toString(),
        })),
      },
      "offsets: rebuilding the index",
    );
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.fetcher.close();
  }
}

/** A tail's loop: no pause between fetches, the shared backoff (0.2-5 s) after a failure, logged. */
export function followLoop(
  iteration: (signal: AbortSignal) => Promise<void>,
  options: { signal: AbortSignal; logger: Logger; cluster: string; message: string },
): Promise<void> {
  return runLoop(iteration, {
    intervalMs: 0,
    signal: options.signal,
    initialMs: 200,
    maxMs: 5000,
    onError: (error, delayMs, failures) =>
      options.logger.warn(
        { cluster: options.cluster, err: (error as Error).message, delayMs, failures },
        options.message,
      ),
  });
}
