// What a transition needs from the rest of the system, as small interfaces: the real ones call
// the coordinator, the offsets service and the health service's own lag over gRPC, and probe
// the clusters (grpc-dependencies.ts); unit tests pass fakes.

/** A flow as a transition sees it. */
export interface FlowInfo {
  readonly name: string;
  /** Cluster aliases. */
  readonly source: string;
  readonly target: string;
  readonly paused: boolean;
}

/** The coordinator's flows: list, PauseFlow, ResumeFlow. */
export interface FlowControl {
  list(): Promise<FlowInfo[]>;
  pause(flow: string, actor: string, reason: string): Promise<void>;
  resume(flow: string, actor: string, reason: string): Promise<void>;
}

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  readonly records: bigint;
}

/** A flow's lag as last measured; `measuredAtMs` is when (Date.now() of the measurement). */
export interface FlowLagReading {
  readonly total: bigint;
  readonly partitions: readonly PartitionLag[];
  readonly measuredAtMs: number;
}

/**
 * Records a flow's target is behind its source (geo.health.v1 GetFlowHealth). Throws when the
 * lag is unknown (source or target unreachable): unknown is never "0 behind".
 */
export interface LagSource {
  flowLag(flow: string): Promise<FlowLagReading>;
}

export interface CommitResult {
  /** Partitions whose translated offset was committed (or, for a dry run, could be). */
  readonly committed: number;
  /** Partitions that could not be translated exactly, with why. */
  readonly problems: readonly string[];
  /**
   * Source records the group has read that are not replicated yet (partitions translated to the
   * replicated end): a drain brings them over, a failover loses them. Not counted in `problems`.
   */
  readonly notReplicatedRecords?: bigint;
}

/** Translates a group's offsets across a flow and commits them in its target (geo.offsets.v1). */
export interface OffsetCommitter {
  commit(request: {
    readonly flow: string;
    readonly group: string;
    readonly dryRun: boolean;
    readonly actor: string;
    /**
     * Failback: map the group's offsets on the flow's remote topics (in its target) home to the
     * origin topics (in its source). A group with no such offsets commits nothing (no error).
     */
    readonly toOrigin?: boolean;
  }): Promise<CommitResult>;
}

/** Live agents per region (the coordinator's ListAgents). */
export interface AgentDirectory {
  liveAgents(region: string): Promise<string[]>;
}

/** Reachability of clusters, and how many probes in a row each has failed. */
export interface ClusterProbes {
  probe(cluster: string): Promise<{ readonly reachable: boolean; readonly error?: string }>;
  consecutiveFailures(cluster: string): number;
}

/** Members of a consumer group in a cluster (0 once the clients left). */
export interface ConsumerGroupProbe {
  members(cluster: string, group: string): Promise<number>;
}

export interface TransitionDependencies {
  readonly flows: FlowControl;
  readonly lag: LagSource;
  readonly offsets: OffsetCommitter;
  readonly agents: AgentDirectory;
  readonly probes: ClusterProbes;
  readonly consumers: ConsumerGroupProbe;
}
