// The real transition dependencies: the coordinator (ListFlows, PauseFlow, ResumeFlow,
// ListAgents), the offsets service (CommitTranslatedOffsets) and the flow lag of geo.health.v1
// (GetFlowHealth), all over gRPC with deadlines and the installation's TLS and token; cluster probes and consumer group members
// through Kafka's admin API.
import { runLoop } from "@geo/backoff";
import { type GeoConfig, isHeartbeatsTopic } from "@geo/config";
import { Code, createGrpcClient, GeoError, type GrpcClient } from "@geo/grpc";
import { type ClusterAdmin, createClusterAdmin } from "@geo/kafka";
import type { Logger } from "@geo/logging";
import {
  CoordinatorService,
  ErrorReason,
  OffsetTranslationService,
  offsetsV1,
  ReplicationHealthService,
  replicationV1,
} from "@geo/proto";
import { grpcClientOptions } from "@geo/service-runtime";
import { probeCluster } from "../monitoring/cluster-probe";
import { createAclRights } from "./acl-rights";
import type {
  AgentDirectory,
  CheckpointReader,
  ClusterProbes,
  CommitResult,
  FlowControl,
  FlowInfo,
  LagSource,
  LastKnownLagSource,
  OffsetCommitter,
  TopicWriteGuard,
  TransitionDependencies,
} from "./dependencies";
import { createKafkaWriteGuard } from "./passive-acls";
import { createRecordCopier } from "./record-copier";

export interface GrpcDependencies extends TransitionDependencies {
  close(): Promise<void>;
}

export interface GrpcDependenciesOptions {
  readonly config: GeoConfig;
  readonly logger: Logger;
  /**
   * Cluster reachability with consecutive failures, from the health service's own probe loop.
   * Without it the flow groups' clusters are probed here, every `probeIntervalMs`.
   */
  readonly probes?: ClusterProbes;
  /**
   * The health monitor's last successful lag per partition (records at risk once the source is
   * lost). Without it a failover out of an unreachable region reports its RPO unknown.
   */
  readonly lastKnownLag?: LastKnownLagSource;
  /** Every cluster is probed this often to count consecutive failures. Default 2000 ms. */
  readonly probeIntervalMs?: number;
  /** Deadline of each gRPC call. Default the config's grpc.defaultDeadlineMs. */
  readonly callTimeoutMs?: number;
}

export function createGrpcDependencies(options: GrpcDependenciesOptions): GrpcDependencies {
  const { config, logger } = options;
  const timeout = { defaultTimeoutMs: options.callTimeoutMs ?? config.grpc.defaultDeadlineMs };
  const coordinator = createGrpcClient(
    CoordinatorService,
    grpcClientOptions(config, config.services.coordinator.address, timeout),
  );
  const offsets = createGrpcClient(
    OffsetTranslationService,
    grpcClientOptions(config, config.services.offsets.address, timeout),
  );
  const health = createGrpcClient(
    ReplicationHealthService,
    grpcClientOptions(config, config.services.health.address, timeout),
  );
  const clusterAdmins = (clientId: string) =>
    new Map(
      Object.values(config.clusters).map((cluster) => [
        cluster.alias,
        createClusterAdmin(cluster, { clientId, logger }),
      ]),
    );
  const admins = clusterAdmins("geo-health-failover");
  // ACL calls get connections of their own: a call that times out drops its connection (the
  // keeper's after 5 s), which must not fail a transition's group checks or a probe with it.
  const aclAdmins = clusterAdmins("geo-health-acls");
  const adminIn =
    (map: ReadonlyMap<string, ClusterAdmin>) =>
    (alias: string): ClusterAdmin => {
      const admin = map.get(alias);
      if (admin === undefined) throw new Error(`unknown cluster "${alias}"`);
      return admin;
    };
  const adminOf = adminIn(admins);
  const probes = clusterProbes(options, admins);
  const copier = createRecordCopier(config, logger);

  return {
    flows: coordinatorFlows(coordinator),
    agents: coordinatorAgents(coordinator),
    lag: healthServiceLag(health),
    lastKnownLag: options.lastKnownLag ?? { lastKnownLag: () => undefined },
    copier,
    offsets: translatedOffsetCommitter(offsets),
    checkpoints: checkpointReader(offsets),
    probes,
    writeGuard: aclWriteGuard(config, adminIn(aclAdmins), logger),
    consumers: {
      async members(cluster, group) {
        const described = await adminOf(cluster).use((admin) => admin.describeGroups([group]));
        return described.groups[0]?.members.length ?? 0;
      },
    },
    async close() {
      probes.stop();
      await copier.close();
      coordinator.close();
      offsets.close();
      health.close();
      await Promise.all([...admins.values(), ...aclAdmins.values()].map((a) => a.close()));
    },
  };
}

/** Passive protection with Kafka ACLs, and whether this service may change them. */
function aclWriteGuard(
  config: GeoConfig,
  adminOf: (alias: string) => ClusterAdmin,
  logger: Logger,
): TopicWriteGuard {
  return {
    ...createKafkaWriteGuard(adminOf),
    aclRights: createAclRights((alias) => {
      const cluster = config.clusters[alias];
      if (cluster === undefined) throw new Error(`unknown cluster "${alias}"`);
      return cluster;
    }, logger),
  };
}

/** The injected probes, or a background probe loop over the flow groups' clusters. */
function clusterProbes(
  options: GrpcDependenciesOptions,
  admins: ReadonlyMap<string, ClusterAdmin>,
): ClusterProbes & { stop(): void } {
  const injected = options.probes;
  if (injected !== undefined) {
    return {
      probe: (cluster) => injected.probe(cluster),
      consecutiveFailures: (cluster) => injected.consecutiveFailures(cluster),
      unreachableSinceMs: (cluster) => injected.unreachableSinceMs(cluster),
      stop: () => {},
    };
  }
  // Only the clusters of flow groups are probed in the background (failover needs their count
  // of consecutive failures); any cluster can still be probed on demand.
  const grouped = [...new Set(options.config.flowGroups.flatMap((group) => group.clusters))];
  return createProbeTracker(admins, grouped, options.logger, options.probeIntervalMs ?? 2000);
}

/** The coordinator's flows, every page of ListFlows, and PauseFlow / ResumeFlow. */
function coordinatorFlows(coordinator: GrpcClient<typeof CoordinatorService>): FlowControl {
  return {
    async list() {
      const flows: FlowInfo[] = [];
      let pageToken = "";
      do {
        const page = await coordinator.listFlows({ pageSize: 1000, pageToken });
        for (const flow of page.flows) {
          flows.push({
            name: flow.name,
            source: flow.sourceCluster,
            target: flow.targetCluster,
            paused: flow.paused,
            topics: { include: flow.topics?.include ?? [], exclude: flow.topics?.exclude ?? [] },
            naming:
              flow.namingPolicy === replicationV1.NamingPolicy.IDENTITY ? "identity" : "prefix",
          });
        }
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      return flows;
    },
    pause: async (name, actor, reason) =>
      void (await coordinator.pauseFlow({ name, actor, reason })),
    resume: async (name, actor, reason) =>
      void (await coordinator.resumeFlow({ name, actor, reason })),
  };
}

/** The connected agents of a region, from the coordinator's ListAgents. */
function coordinatorAgents(coordinator: GrpcClient<typeof CoordinatorService>): AgentDirectory {
  return {
    async liveAgents(region) {
      const { agents } = await coordinator.listAgents({ region });
      return agents.filter((agent) => agent.connected).map((agent) => agent.id);
    },
  };
}

/** A flow's lag from the health service's GetFlowHealth, without its heartbeats partitions. */
function healthServiceLag(health: GrpcClient<typeof ReplicationHealthService>): LagSource {
  return {
    async flowLag(flow) {
      const answer = await health.getFlowHealth({ flow });
      if (answer.lagUnknown || answer.totalLag === undefined) {
        throw new Error(`lag unknown: ${answer.lagUnknownReason || "not measured yet"}`);
      }
      const measured = answer.totalLag.measureTime;
      const all = answer.partitions.map((p) => ({
        topic: p.sourceTopic,
        partition: p.partition,
        records: BigInt(p.lag?.records ?? "0"),
        endOffset: BigInt(p.sourceEndOffset),
        nextSourceOffset: BigInt(p.nextSourceOffset),
      }));
      // The health service's own heartbeats never stop, so a flow carrying them is rarely at
      // lag 0: a drain and the records at risk are about the applications' records only.
      const heartbeats = all.filter((p) => isHeartbeatsTopic(p.topic));
      return {
        measuredAtMs: measured
          ? Number(measured.seconds) * 1000 + Math.floor(measured.nanos / 1e6)
          : 0,
        total: heartbeats.reduce((sum, p) => sum - p.records, BigInt(answer.totalLag.records)),
        partitions: all.filter((p) => !isHeartbeatsTopic(p.topic)),
      };
    },
  };
}

/** The offsets service's CommitTranslatedOffsets, its answer summed up for a transition. */
function translatedOffsetCommitter(
  offsets: GrpcClient<typeof OffsetTranslationService>,
): OffsetCommitter {
  return {
    async commit({ flow, group, dryRun, actor, toOrigin = false }) {
      const answer = await offsets
        .commitTranslatedOffsets({ flow, group, dryRun, actor, toOrigin })
        .catch((error: unknown) => error as Error);
      if (answer instanceof Error) {
        // The offsets service answers NOT_FOUND for an unknown flow too: only the ErrorInfo
        // reason says the group has nothing to translate (mapping home: it never read the
        // flow's remote topics).
        const geo = GeoError.from(answer);
        if (geo.code === Code.NOT_FOUND && geo.reason === ErrorReason.NO_COMMITTED_OFFSETS) {
          return { committed: 0, problems: [], noOffsets: geo.message };
        }
        throw answer;
      }
      return commitResultOf(answer.offsets, dryRun);
    },
  };
}

type CommittedOffset = offsetsV1.CommitTranslatedOffsetsResponse["offsets"][number];

/** Committed partitions, real problems and records not replicated yet, from the answer's offsets. */
function commitResultOf(offsets: readonly CommittedOffset[], dryRun: boolean): CommitResult {
  // A rehearsal under live traffic finds the group ahead of replication by the flow's lag;
  // the switchover drains that first, so a dry run reports it apart from real problems.
  const pending = (o: CommittedOffset) =>
    dryRun && o.translation?.kind === offsetsV1.TranslationKind.NOT_YET_REPLICATED;
  // The offsets service's own group sync may have committed the same exact translation
  // already: the group is in place, not a problem.
  const inPlace = (o: CommittedOffset) =>
    !o.committed &&
    o.translation?.exact === true &&
    BigInt(o.previousTargetOffset || "-1") >= BigInt(o.translation.targetOffset || "0");
  const problems = offsets
    .filter((o) => !pending(o) && !inPlace(o) && (!o.committed || o.translation?.exact === false))
    .map(
      (o) =>
        `${o.translation?.sourceTopic}/${o.translation?.partition}: ${o.reason || o.translation?.reason || "not exact"}`,
    );
  const notReplicatedRecords = offsets
    .filter(pending)
    .reduce((sum, o) => sum + BigInt(o.translation?.recordsNotReplicated ?? "0"), 0n);
  return {
    committed: offsets.filter((o) => o.committed || inPlace(o)).length,
    problems,
    notReplicatedRecords,
  };
}

/** A group's checkpoints over a flow, every page of the offsets service's ListCheckpoints. */
function checkpointReader(offsets: GrpcClient<typeof OffsetTranslationService>): CheckpointReader {
  return {
    async checkpoints(flow, group) {
      let pageToken = "";
      const found: { exact: boolean; ageMs: number; name: string }[] = [];
      do {
        const page = await offsets.listCheckpoints({ flow, group, pageSize: 5000, pageToken });
        for (const c of page.checkpoints) {
          found.push({
            exact: c.exact,
            ageMs: Number(c.ageMs),
            name: `${c.sourceTopic}/${c.partition}`,
          });
        }
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      return {
        partitions: found.length,
        inexact: found.filter((c) => !c.exact).map((c) => c.name),
        oldestAgeMs: found.length === 0 ? undefined : Math.max(...found.map((c) => c.ageMs)),
      };
    },
  };
}

/** Probes every cluster in the background and counts consecutive failures per cluster. */
function createProbeTracker(
  admins: ReadonlyMap<string, ClusterAdmin>,
  probed: readonly string[],
  logger: Logger,
  intervalMs: number,
): ClusterProbes & { stop(): void } {
  const failures = new Map<string, number>();
  const failingSince = new Map<string, number>();
  const abort = new AbortController();
  const probe = async (alias: string) => {
    const admin = admins.get(alias);
    if (admin === undefined) return { reachable: false, error: `unknown cluster "${alias}"` };
    const startedMs = Date.now();
    const { health } = await probeCluster(admin, { timeoutMs: Math.max(1000, intervalMs) });
    failures.set(alias, health.reachable ? 0 : (failures.get(alias) ?? 0) + 1);
    if (health.reachable) failingSince.delete(alias);
    else if (!failingSince.has(alias)) failingSince.set(alias, startedMs);
    return health.reachable
      ? { reachable: true }
      : { reachable: false, error: health.error ?? "unreachable" };
  };
  if (probed.length > 0)
    void runLoop(
      async () => {
        await Promise.all(probed.map(probe));
      },
      {
        intervalMs,
        signal: abort.signal,
        onError: (error) => logger.warn({ err: (error as Error).message }, "cluster probes failed"),
      },
    );
  return {
    probe,
    consecutiveFailures: (alias) => failures.get(alias) ?? 0,
    unreachableSinceMs: (alias) => failingSince.get(alias),
    stop: () => abort.abort(),
  };
}
