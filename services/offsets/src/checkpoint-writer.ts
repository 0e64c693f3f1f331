import type { ClusterConfig } from "@geo/config";
import { createIdempotentProducer, type IdempotentProducer } from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import { asOffset } from "@geo/positions";
import { ensureProgressTopics } from "@geo/progress";
import { offsetsV1 } from "@geo/proto";
import type { RecordInput } from "@geo/record-batch";
import type { CheckpointCache } from "./checkpoint-cache";
import type { OffsetsFlow } from "./flows";
import { encodeCheckpointKey, encodeCheckpointValue, type Mm2Checkpoint } from "./mm2-checkpoint";
import type { TargetReaders } from "./target-readers";
import type { Translation } from "./translate";

const KiB = 1024;

/**
 * Writes MirrorMaker 2 checkpoints of translated group offsets into a flow's target
 * (`<source>.checkpoints.internal`: one partition, compacted, created when missing), so that
 * RemoteClusterUtils.translateOffsets and existing MM2 tooling read them, and so that a
 * failover finds the groups' positions when the source region is gone.
 */
export class CheckpointWriter {
  private readonly producers = new Map<string, IdempotentProducer>();
  private readonly ensured = new Set<string>();

  constructor(
    private readonly clusters: Readonly<Record<string, ClusterConfig>>,
    private readonly targets: TargetReaders,
    private readonly cache: CheckpointCache,
    private readonly logger: Logger,
  ) {}

  /**
   * Checkpoints of translations a consumer may resume at without skipping a record (exact ones,
   * and the replicated end of partitions not fully copied yet). Only those that changed are
   * written (the topic is compacted and read whole by Java clients and at restarts); unchanged
   * ones are confirmed in the cache. Returns how many were written.
   */
  async write(flow: OffsetsFlow, group: string, translations: readonly Translation[]) {
    return this.writeMany(flow, [{ group, translations }]);
  }

  /**
   * `readAt`: when the offsets were read; a checkpoint written since (from a commit followed
   * after that read) is newer than what they say, and is left in place.
   */
  async writeMany(
    flow: OffsetsFlow,
    entries: readonly { group: string; translations: readonly Translation[] }[],
    readAt?: number,
  ): Promise<number> {
    const time = Date.now();
    const records: RecordInput[] = [];
    const written: Parameters<CheckpointCache["put"]>[2][] = [];
    for (const [n, { group, translations }] of entries.entries()) {
      // Yield now and then: a round of a thousand groups must not stall translation requests.
      if (n % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
      for (const t of translations) {
        if (t.targetOffset < 0n || t.targetTopic === "") continue;
        const checkpoint = checkpointOf(group, t);
        // Unchanged since it was written: confirm it, do not write it again.
        if (this.cache.confirm(flow.target, flow.checkpointTopic, checkpoint, time)) continue;
        if (
          readAt !== undefined &&
          this.cache.writtenAfter(flow.target, flow.checkpointTopic, checkpoint, readAt)
        )
          continue;
        records.push({
          timestamp: BigInt(time),
          key: encodeCheckpointKey(checkpoint),
          value: encodeCheckpointValue(checkpoint),
        });
        written.push({ ...checkpoint, time, confirmed: time });
      }
    }
    if (records.length === 0) return 0;
    await this.ensureTopic(flow);
    const producer = this.producerOf(flow.target);
    try {
      await producer.produce(flow.checkpointTopic, 0, splitBatches(records), {
        deadline: performance.now() + 15_000,
      });
    } catch (error) {
      // The producer stops a partition after a failure; start it afresh for the next round.
      await producer.resetPartition(flow.checkpointTopic, 0).catch(() => {});
      throw error;
    }
    for (const c of written) this.cache.put(flow.target, flow.checkpointTopic, c);
    return records.length;
  }

  private async ensureTopic(flow: OffsetsFlow): Promise<void> {
    const id = `${flow.target}\u0000${flow.checkpointTopic}`;
    if (this.ensured.has(id)) return;
    const cluster = this.clusters[flow.target];
    if (cluster === undefined) throw new Error(`unknown cluster "${flow.target}"`);
    const created = await ensureProgressTopics(cluster, {
      logger: this.logger,
      topics: [flow.checkpointTopic],
      clientId: "geo-offsets",
    });
    if (created.length > 0) {
      this.logger.info(
        { flow: flow.name, cluster: flow.target, topic: flow.checkpointTopic },
        "offsets: created the checkpoint topic",
      );
    }
    this.ensured.add(id);
  }

  private producerOf(alias: string): IdempotentProducer {
    let producer = this.producers.get(alias);
    if (producer === undefined) {
      const client = this.targets.client(alias);
      if (client === undefined) throw new Error(`no connection to cluster "${alias}" yet`);
      producer = createIdempotentProducer(client, { deliveryTimeoutMs: 15_000 });
      this.producers.set(alias, producer);
    }
    return producer;
  }

  async close(): Promise<void> {
    await Promise.all([...this.producers.values()].map((p) => p.close()));
  }
}

/**
 * The checkpoint of a translation. A group ahead of replication (NOT_YET_REPLICATED: it read
 * records the flow has not copied yet) is checkpointed at the end of what was copied, the source
 * offset of the target offset written. Translated again at a failover that is exact
 * (AT_REPLICATED_END), where the group's own offset would stay NOT_YET_REPLICATED once nothing
 * more can be copied, and the failover's commit would refuse it; checkpoints that follow the
 * group's commits within a fraction of a second meet this far more often than a 4 s round.
 * RemoteClusterUtils reads the downstream offset only, the same either way.
 */
export function checkpointOf(group: string, t: Translation): Mm2Checkpoint {
  const ahead = t.kind === offsetsV1.TranslationKind.NOT_YET_REPLICATED;
  return {
    group,
    topic: t.targetTopic,
    partition: t.partition,
    upstreamOffset: ahead ? asOffset(t.sourceOffset - t.recordsNotReplicated) : t.sourceOffset,
    downstreamOffset: t.targetOffset,
    metadata: t.metadata,
  };
}

/** Batches under 512 KiB each. */
function splitBatches(records: RecordInput[]): { records: RecordInput[] }[] {
  const batches: { records: RecordInput[] }[] = [];
  let current: RecordInput[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = (r.key as Buffer).length + (r.value as Buffer).length + 16;
    if (current.length > 0 && bytes + size > 512 * KiB) {
      batches.push({ records: current });
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) batches.push({ records: current });
  return batches;
}
