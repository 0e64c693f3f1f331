import { sleep } from "@geo/backoff";
import {
  createPartitionFetcher,
  type KafkaWireClient,
  OffsetOutOfRangeError,
  type PartitionFetcher,
} from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import type { KafkaRecord } from "@geo/record-batch";
import { followLoop } from "./topic-tailer";

export const CONSUMER_OFFSETS = "__consumer_offsets";

export interface CommitTailOptions {
  client: KafkaWireClient;
  cluster: string;
  logger: Logger;
  /** Every record in log order per partition; throwing skips the record (the caller counts it). */
  onRecord: (record: KafkaRecord) => void;
  /** How long a fetch waits for new commits. Default 500 ms. */
  maxWaitMs?: number;
}

/**
 * Follows every partition of a cluster's `__consumer_offsets` from its end at start: the offset
 * commits of every group as the coordinators write them (read_committed, so a transactional
 * commit shows once its transaction commits). No consumer group, nothing written. What was
 * committed before the start, or while a fetch failed for good, is not seen: the periodic
 * checkpoint round covers that. Broken connections are retried with the shared backoff and
 * positions are kept; each fetch holds at most 1 MiB per partition and 8 MiB in all.
 */
export class CommitTail {
  private readonly fetcher: PartitionFetcher;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  /** Next offset per partition; undefined until the topic has been located. */
  private positions: bigint[] | undefined;
  records = 0;
  private yieldedAt = 0;
  /** The topic was missing when first looked for: all it holds came later, read it whole. */
  private missingAtStart = false;

  constructor(private readonly options: CommitTailOptions) {
    this.fetcher = createPartitionFetcher(options.client, {
      maxWaitMs: options.maxWaitMs ?? 500,
      maxBytes: 8 * 1024 * 1024,
    });
  }

  start(): void {
    this.loop ??= followLoop((signal) => this.iteration(signal), {
      signal: this.abort.signal,
      logger: this.options.logger,
      cluster: this.options.cluster,
      message:
        "offsets: following the source's group commits failed; retrying (the round covers the gap)",
    });
  }

  private async iteration(signal: AbortSignal): Promise<void> {
    this.positions ??= await this.locate();
    if (this.positions === undefined) {
      await sleep(1000, signal);
      return;
    }
    const positions = this.positions;
    const results = await this.fetcher.fetch(
      positions.map((offset, partition) => ({ topic: CONSUMER_OFFSETS, partition, offset })),
    );
    for (const [partition, result] of results.entries()) {
      if (result.error instanceof OffsetOutOfRangeError) {
        positions[partition] = result.error.logStartOffset;
        continue;
      }
      if (result.error !== null) throw result.error;
      for (const batch of result.batches) {
        for (const record of batch.records()) {
          if (record.offset >= positions[partition]!) this.deliver(record);
        }
      }
      positions[partition] = result.nextOffset;
      // A burst (thousands of groups committing) must not hold translation requests up.
      if (this.records - this.yieldedAt >= 5000) {
        this.yieldedAt = this.records;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  private deliver(record: KafkaRecord): void {
    this.records++;
    try {
      this.options.onRecord(record);
    } catch {
      // Counted by the handler; one bad record never stops the tail.
    }
  }

  /**
   * Where to start in every partition: the end, or the start when the topic was created after
   * this tail first looked (no group had committed then). Undefined while it does not exist.
   */
  private async locate(): Promise<bigint[] | undefined> {
    const client = this.options.client;
    await client.metadata.refresh([CONSUMER_OFFSETS]);
    const count = client.metadata.partitionCount(CONSUMER_OFFSETS) ?? 0;
    if (count === 0) {
      this.missingAtStart = true;
      return undefined;
    }
    const partitions = Array.from({ length: count }, (_, p) => p);
    const from = this.missingAtStart ? "earliest" : "latest";
    const ends = await this.fetcher.listOffsets(CONSUMER_OFFSETS, partitions, from);
    this.options.logger.info(
      { cluster: this.options.cluster, partitions: count, from },
      "offsets: following the source's group commits",
    );
    return ends.map((e) => e.offset);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.fetcher.close();
  }
}
