import type { GeoConfig } from "@geo/config";
import { Code, GeoError } from "@geo/grpc";
import type { Logger } from "@geo/logging";
import { ErrorReason } from "@geo/proto";
import { CheckpointCache, type StoredCheckpoint } from "./checkpoint-cache";
import { CheckpointWriter } from "./checkpoint-writer";
import { ClusterGroups } from "./cluster-groups";
import type { FlowDirectory, OffsetsFlow } from "./flows";
import { OffsetIndex } from "./offset-index";
import { TargetReaders } from "./target-readers";
import { type SourcePosition, type Translation, translatePosition } from "./translate";

/** Most positions one TranslateOffsets request may carry. */
export const MAX_POSITIONS = 10_000;

export interface GroupTranslation {
  translations: Translation[];
  /** When the offsets were read (or the oldest checkpoint used was written), ms since epoch. */
  readTime: number;
  fromCheckpoints: boolean;
  checkpointAgeMs: number;
}

/**
 * What the RPCs and the background loops share: the index and checkpoint cache fed from the
 * targets, the flows, and group access to every cluster.
 */
export class OffsetsCore {
  readonly index = new OffsetIndex();
  readonly checkpoints = new CheckpointCache();
  readonly targets: TargetReaders;
  /** Group reads for requests: never queued behind the checkpoint round's thousand reads. */
  readonly groups: ClusterGroups;
  /** Group reads of the background checkpoint and sync rounds. */
  readonly loopGroups: ClusterGroups;
  readonly writer: CheckpointWriter;
  /**
   * Per flow, the checkpoint round's last complete read of its source's groups: when, and the
   * groups that had committed offsets on the flow's topics then (or could not be read). Once the
   * source is lost, a group absent from it is known never to have committed (see fromCheckpoints).
   */
  readonly lastGroupRead = new Map<string, { time: number; withOffsets: ReadonlySet<string> }>();
  /**
   * Commit-driven checkpoints, when on: a translation from checkpoints first has them write the
   * group's commits followed but not written yet (CommitCheckpoints.flush, bounded in time).
   */
  pendingCommits: { flush(flow: string, group: string): Promise<unknown> } | undefined;

  constructor(
    config: GeoConfig,
    readonly flows: FlowDirectory,
    readonly logger: Logger,
  ) {
    this.targets = new TargetReaders(config.clusters, this.index, this.checkpoints, logger);
    this.groups = new ClusterGroups(config.clusters, logger);
    this.loopGroups = new ClusterGroups(config.clusters, logger);
    this.writer = new CheckpointWriter(config.clusters, this.targets, this.checkpoints, logger);
    this.targets.sync(flows);
  }

  /** The flow, ready to translate: NOT_FOUND or UNAVAILABLE (index not built) otherwise. */
  flow(name: string): OffsetsFlow {
    const flow = this.flows.get(name);
    if (flow === undefined) {
      const known = this.flows.list().map((f) => f.name);
      throw new GeoError(
        Code.NOT_FOUND,
        `no flow "${name}"; known flows: ${known.length > 0 ? known.join(", ") : "none"}`,
        { details: { flow: name } },
      );
    }
    if (!this.targets.isBuilt(flow.target)) {
      throw new GeoError(
        Code.UNAVAILABLE,
        `the offset index of cluster "${flow.target}" is still being read; retry shortly`,
      );
    }
    return flow;
  }

  translate(flow: OffsetsFlow, positions: readonly SourcePosition[]): Translation[] {
    return positions.map((p) => translatePosition(this.index, flow, p));
  }

  /** The group's committed offsets in the source, or its checkpoints when the source is down. */
  async translateGroup(
    flow: OffsetsFlow,
    group: string,
    topics: readonly string[],
  ): Promise<GroupTranslation> {
    const wanted = (topic: string) =>
      flow.replicates(topic) && (topics.length === 0 || topics.includes(topic));
    let positions: SourcePosition[];
    try {
      positions = await this.groups.committedOffsets(flow.source, group);
    } catch (error) {
      // Only here: a source that answers gives offsets at least as new as any commit followed
      // from its `__consumer_offsets`, which are written within a pass anyway.
      await this.pendingCommits?.flush(flow.name, group);
      return this.fromCheckpoints(flow, group, wanted, error);
    }
    positions = positions.filter((p) => wanted(p.topic));
    if (positions.length === 0) {
      throw new GeoError(
        Code.NOT_FOUND,
        `group "${group}" has no committed offsets in cluster "${flow.source}" for topics flow "${flow.name}" replicates${topics.length > 0 ? ` (asked for: ${topics.join(", ")})` : ""}`,
        { reason: ErrorReason.NO_COMMITTED_OFFSETS, details: { group, cluster: flow.source } },
      );
    }
    return {
      translations: this.translate(flow, positions),
      readTime: Date.now(),
      fromCheckpoints: false,
      checkpointAgeMs: 0,
    };
  }

  private fromCheckpoints(
    flow: OffsetsFlow,
    group: string,
    wanted: (topic: string) => boolean,
    cause: unknown,
  ): GroupTranslation {
    const stored = this.checkpointsOf(flow, group).filter((c) => wanted(c.sourceTopic));
    if (stored.length === 0) {
      this.refuseNeverCommitted(flow, group, cause);
      throw new GeoError(
        Code.UNAVAILABLE,
        `cluster "${flow.source}" did not answer (${(cause as Error).message}) and there are no checkpoints of group "${group}" in "${flow.target}"; use TranslateOffsets with explicit positions`,
        { cause },
      );
    }
    const oldest = Math.min(...stored.map((c) => Math.max(c.time, c.confirmed)));
    this.logger.info(
      { flow: flow.name, group, err: (cause as Error).message },
      "offsets: source unreachable; translating from checkpoints",
    );
    return {
      translations: this.translate(
        flow,
        stored.map((c) => ({
          topic: c.sourceTopic,
          partition: c.partition,
          offset: c.upstreamOffset,
          metadata: c.metadata,
        })),
      ),
      readTime: oldest,
      fromCheckpoints: true,
      checkpointAgeMs: Date.now() - oldest,
    };
  }

  /**
   * NOT_FOUND (NO_COMMITTED_OFFSETS) when the source, unreachable now, had no committed offsets
   * of the group on the flow's topics at the checkpoint round's last complete read of it: the
   * group has nothing to translate, which checkpoints alone cannot tell from missing ones.
   */
  private refuseNeverCommitted(flow: OffsetsFlow, group: string, cause: unknown): void {
    const read = this.lastGroupRead.get(flow.name);
    if (read === undefined || !flow.checkpointsGroup(group) || read.withOffsets.has(group)) return;
    throw new GeoError(
      Code.NOT_FOUND,
      `group "${group}" has no committed offsets in cluster "${flow.source}" for topics flow "${flow.name}" replicates: none when its groups were last read, ${Math.round((Date.now() - read.time) / 1000)} s ago (it does not answer now: ${(cause as Error).message})`,
      { reason: ErrorReason.NO_COMMITTED_OFFSETS, details: { group, cluster: flow.source } },
    );
  }

  /** The flow's checkpoints in its target, with the source topic each remote topic came from. */
  checkpointsOf(flow: OffsetsFlow, group?: string): (StoredCheckpoint & { sourceTopic: string })[] {
    const out: (StoredCheckpoint & { sourceTopic: string })[] = [];
    for (const c of this.checkpoints.list(flow.target, flow.checkpointTopic, group)) {
      const sourceTopic = flow.sourceTopicOf(c.topic);
      if (sourceTopic !== undefined && flow.replicates(sourceTopic))
        out.push({ ...c, sourceTopic });
    }
    return out;
  }

  async close(): Promise<void> {
    await this.writer.close();
    await this.targets.close();
    await this.groups.close();
    await this.loopGroups.close();
  }
}
