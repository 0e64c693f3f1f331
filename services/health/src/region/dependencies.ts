// What a transition needs from the rest of the system, as small interfaces: the real ones call
// the coordinator, the offsets service and the health service's own lag over gRPC, and probe
// the clusters (grpc-dependencies.ts); unit tests pass fakes.
import type { NamingPolicy, TopicFilterConfig } from "@geo/config";
import { CodedError } from "@geo/errors";

/** A flow as a transition sees it. */
export interface FlowInfo {
  readonly name: string;
  /** Cluster aliases. */
  readonly source: string;
  readonly target: string;
  readonly paused: boolean;
  /** Which topics it replicates and how it names them (passive protection finds its topics). */
  readonly topics?: TopicFilterConfig;
  readonly naming?: NamingPolicy;
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
  /** Source log end and the next source offset the target acknowledged, when known. */
  readonly endOffset?: bigint;
  readonly nextSourceOffset?: bigint;
}

/** A partition's lag as last measured successfully, and when (Date.now()). */
export interface KnownPartitionLag extends PartitionLag {
  readonly measuredAtMs: number;
}

/**
 * The health monitor's last successful lag per flow and partition, kept when the source became
 * unreachable; undefined when the flow's lag was never measured.
 */
export interface LastKnownLagSource {
  lastKnownLag(flow: string): readonly KnownPartitionLag[] | undefined;
}

/**
 * A copy stopped partway: the source records before `nextOffset` (`records` of them) are in the
 * side topic, the rest are not. A retry copies from `nextOffset` and writes nothing twice.
 */
export class CopyInterruptedError extends CodedError<"COPY_INTERRUPTED"> {
  constructor(
    message: string,
    readonly nextOffset: bigint,
    readonly records: bigint,
    cause?: unknown,
  ) {
    super("COPY_INTERRUPTED", message, { retriable: true, cause });
  }
}

/** Copies source records [startOffset, endOffset) of a partition into a topic of another cluster. */
export interface RecordCopier {
  /**
   * Returns the records copied (gaps of compaction or transactions are skipped). Throws
   * {@link CopyInterruptedError} when it stopped after copying some.
   */
  copy(request: {
    readonly fromCluster: string;
    readonly toCluster: string;
    readonly topic: string;
    readonly partition: number;
    readonly startOffset: bigint;
    readonly endOffset: bigint;
    readonly toTopic: string;
  }): Promise<bigint>;
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
  /**
   * Set (with why) when the group has no committed offsets on the flow's source topics (with
   * `toOrigin`: on its remote topics): it never consumed them, so there is nothing to translate.
   */
  readonly noOffsets?: string;
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
     * origin topics (in its source). A group with no such offsets commits nothing (`noOffsets`).
     */
    readonly toOrigin?: boolean;
  }): Promise<CommitResult>;
}

/** A consumer group's checkpoints over a flow, as a failover would use them (geo.offsets.v1). */
export interface CheckpointSummary {
  /** Partitions with a checkpoint. */
  readonly partitions: number;
  /** `topic/partition` of checkpoints whose translation was not exact. */
  readonly inexact: readonly string[];
  /** Age of the oldest checkpoint, ms; undefined when there is none. */
  readonly oldestAgeMs: number | undefined;
}

export interface CheckpointReader {
  checkpoints(flow: string, group: string): Promise<CheckpointSummary>;
}

/** Live agents per region (the coordinator's ListAgents). */
export interface AgentDirectory {
  liveAgents(region: string): Promise<string[]>;
}

/** Reachability of clusters, and how many probes in a row each has failed. */
export interface ClusterProbes {
  probe(cluster: string): Promise<{ readonly reachable: boolean; readonly error?: string }>;
  consecutiveFailures(cluster: string): number;
  /** Since when (Date.now()) the cluster has failed every probe; undefined while it answers. */
  unreachableSinceMs(cluster: string): number | undefined;
}

/** Members of a consumer group in a cluster (0 once the clients left). */
export interface ConsumerGroupProbe {
  members(cluster: string, group: string): Promise<number>;
}

/**
 * What a write guard did: nothing when the cluster has no authorizer to hold ACLs. `topics`: the
 * selected topics now denied (deny) or lifted (allow); `changed`: those whose ACLs this call
 * changed (a deny skips the topics already denied).
 */
export type WriteGuardOutcome =
  | { readonly authorizer: false }
  | {
      readonly authorizer: true;
      readonly topics: readonly string[];
      readonly changed: readonly string[];
    };

/** Which of the selected topics deny applications' writes now (a drill's reading). */
export type WriteGuardReading =
  | { readonly authorizer: false }
  | {
      readonly authorizer: true;
      readonly denied: readonly string[];
      readonly open: readonly string[];
    };

/**
 * Denies applications' writes to a cluster's topics with Kafka ACLs, and lifts that denial
 * (passive-acls.ts). `select` picks the topics by name; `timeoutMs` bounds the call (the
 * guard's own bound by default), after which it fails.
 */
export interface TopicWriteGuard {
  deny(
    cluster: string,
    select: (topic: string) => boolean,
    timeoutMs?: number,
  ): Promise<WriteGuardOutcome>;
  allow(
    cluster: string,
    select: (topic: string) => boolean,
    timeoutMs?: number,
  ): Promise<WriteGuardOutcome>;
  /** Reads the denial of the selected topics, changing nothing. */
  read(
    cluster: string,
    select: (topic: string) => boolean,
    timeoutMs?: number,
  ): Promise<WriteGuardReading>;
  /**
   * Whether this service may create and delete ACLs there, asked of the authorizer without
   * changing anything (a drill's check); undefined when the broker cannot say.
   */
  aclRights?(cluster: string): Promise<AclRights | undefined>;
}

/** What the service's principal may do with a cluster's ACLs (acl-rights.ts). */
export interface AclRights {
  /** ALTER on the cluster resource: CreateAcls and DeleteAcls are allowed. */
  readonly alter: boolean;
  /** "User:<name>" from the SASL settings; undefined when it comes from a TLS certificate. */
  readonly principal: string | undefined;
  readonly bootstrapServers: readonly string[];
}

export interface TransitionDependencies {
  readonly flows: FlowControl;
  readonly lag: LagSource;
  readonly lastKnownLag: LastKnownLagSource;
  readonly copier: RecordCopier;
  readonly offsets: OffsetCommitter;
  readonly checkpoints: CheckpointReader;
  readonly agents: AgentDirectory;
  readonly probes: ClusterProbes;
  readonly consumers: ConsumerGroupProbe;
  readonly writeGuard: TopicWriteGuard;
}
