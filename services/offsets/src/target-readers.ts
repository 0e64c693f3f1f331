import { type ClusterConfig, GEO_TOPICS } from "@geo/config";
import { kafkaClientOptions } from "@geo/kafka";
import { createWireClient, type KafkaWireClient } from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import { decodeProgressRecord, decodeSegmentRecord } from "@geo/progress";
import type { CheckpointCache } from "./checkpoint-cache";
import type { FlowDirectory } from "./flows";
import { decodeCheckpoint } from "./mm2-checkpoint";
import type { OffsetIndex } from "./offset-index";
import { TopicTailer } from "./topic-tailer";

/**
 * One tailer per target cluster of a flow: `__geo.offset-map` and `__geo.progress` feed the
 * index, `<source>.checkpoints.internal` the checkpoint cache. Everything comes from the
 * target, so it survives the loss of a source region and restarts of this service.
 */
export class TargetReaders {
  private readonly tailers = new Map<string, TopicTailer>();
  private readonly clients = new Map<string, KafkaWireClient>();
  private readonly startTime = performance.now();

  constructor(
    private readonly clusters: Readonly<Record<string, ClusterConfig>>,
    private readonly index: OffsetIndex,
    private readonly checkpoints: CheckpointCache,
    private readonly logger: Logger,
    /** After this long a target that cannot be read no longer holds back SERVING. */
    private readonly buildGiveUpMs = 60_000,
  ) {}

  /** Follows what the current flows need (call again when flows change). */
  sync(flows: FlowDirectory): void {
    for (const flow of flows.list()) {
      const tailer = this.tailerOf(flow.target);
      if (tailer === undefined) continue;
      tailer.follow(flow.checkpointTopic, (record, topic) => {
        const c = decodeCheckpoint(record.key, record.value);
        const time = Number(record.timestamp);
        this.checkpoints.put(flow.target, topic, { ...c, time, confirmed: time });
      });
    }
  }

  /** Whether the index holds everything the target `cluster` had when this service started. */
  isBuilt(cluster: string): boolean {
    return this.tailers.get(cluster)?.built ?? false;
  }

  /** Every target read to its end (or given up on after `buildGiveUpMs`): the service may serve. */
  get ready(): boolean {
    const late = performance.now() - this.startTime > this.buildGiveUpMs;
    for (const tailer of this.tailers.values()) if (!tailer.built && !late) return false;
    return true;
  }

  /** The wire client of a target cluster (for writing checkpoints and committing offsets). */
  client(cluster: string): KafkaWireClient | undefined {
    return this.clients.get(cluster);
  }

  private tailerOf(alias: string): TopicTailer | undefined {
    const existing = this.tailers.get(alias);
    if (existing !== undefined) return existing;
    const cluster = this.clusters[alias];
    if (cluster === undefined) return undefined;
    const logger = this.logger.child({ cluster: alias });
    const client = createWireClient(
      kafkaClientOptions(cluster, {
        clientId: "geo-offsets",
        logger: logger.child({}, { level: "fatal" }),
        requestTimeoutMs: 10_000,
      }),
      { logger },
    );
    const tailer = new TopicTailer({ client, cluster: alias, logger });
    tailer.follow(GEO_TOPICS.offsetMap, (record) => {
      const { key, segment } = decodeSegmentRecord(record.key, record.value);
      if (segment === null) this.index.removeSegment(key);
      else this.index.addSegment(segment);
    });
    tailer.follow(GEO_TOPICS.progress, (record) => {
      const { unit, epoch, progress } = decodeProgressRecord(record.key, record.value);
      if (progress !== null) this.index.addProgress(unit, epoch, progress.nextSourceOffset);
    });
    tailer.start();
    this.tailers.set(alias, tailer);
    this.clients.set(alias, client);
    return tailer;
  }

  async close(): Promise<void> {
    await Promise.all([...this.tailers.values()].map((t) => t.close()));
    await Promise.all([...this.clients.values()].map((c) => c.close()));
  }
}
