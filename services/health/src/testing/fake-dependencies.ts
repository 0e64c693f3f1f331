// Fakes of every transition dependency, for the region unit tests.
import type {
  CheckpointSummary,
  CommitResult,
  FlowInfo,
  KnownPartitionLag,
  PartitionLag,
  TransitionDependencies,
} from "../region/dependencies";

export interface Fakes extends TransitionDependencies {
  readonly flowList: FlowInfo[];
  /** Lag answers per flow, consumed one per call; the last one repeats. */
  readonly lags: Map<string, (readonly PartitionLag[])[]>;
  /** How old every lag answer is (a measurement taken that long ago). */
  lagStalenessMs: number;
  readonly live: Map<string, string[]>;
  readonly unreachable: Set<string>;
  readonly failures: Map<string, number>;
  readonly unreachableSince: Map<string, number>;
  readonly members: Map<string, number>;
  /** Failures to inject, by operation name: pause, resume, commit, lag, members, checkpoints, copy. */
  readonly failing: Set<string>;
  readonly calls: string[];
  commitProblems: string[];
  /** Groups the offsets service finds no committed offsets of. */
  readonly groupsWithoutOffsets: Set<string>;
  /** The monitor's last known lag per flow. */
  readonly lastKnown: Map<string, KnownPartitionLag[]>;
  /** Checkpoint answers per `flow/group`; none when absent. */
  readonly checkpointSummaries: Map<string, CheckpointSummary>;
  /** Topics per cluster, the deny ACLs a guard holds per cluster, clusters without authorizer. */
  readonly topicsOf: Map<string, string[]>;
  readonly denied: Map<string, Set<string>>;
  readonly noAuthorizer: Set<string>;
}

/** Both fake flows replicate "orders" under its own name. */
const ORDERS = { topics: { include: ["orders"], exclude: [] }, naming: "identity" as const };

export function createFakes(): Fakes {
  const fakes: Fakes = {
    flowList: [
      { name: "east-west", source: "us-east", target: "eu-west", paused: false, ...ORDERS },
      { name: "west-east", source: "eu-west", target: "us-east", paused: true, ...ORDERS },
    ],
    lags: new Map(),
    lagStalenessMs: 0,
    live: new Map([
      ["us-east", ["agent-us-1"]],
      ["eu-west", ["agent-eu-1"]],
    ]),
    unreachable: new Set(),
    failures: new Map(),
    unreachableSince: new Map(),
    members: new Map(),
    failing: new Set(),
    calls: [],
    commitProblems: [],
    groupsWithoutOffsets: new Set(),
    lastKnown: new Map(),
    lastKnownLag: { lastKnownLag: (flow) => fakes.lastKnown.get(flow) },
    copier: {
      copy: async (request) => {
        fakes.calls.push(
          `copy ${request.fromCluster}:${request.topic}/${request.partition} [${request.startOffset}, ${request.endOffset}) to ${request.toCluster}:${request.toTopic}`,
        );
        if (fakes.failing.has("copy")) throw new Error("target refused the records");
        return request.endOffset - request.startOffset;
      },
    },
    checkpointSummaries: new Map([
      ["east-west/billing", { partitions: 3, inexact: [], oldestAgeMs: 1000 }],
    ]),
    topicsOf: new Map([
      ["us-east", ["orders", "heartbeats", "local-only"]],
      ["eu-west", ["orders", "heartbeats", "local-only"]],
    ]),
    denied: new Map(),
    noAuthorizer: new Set(),
    flows: {
      list: async () => fakes.flowList.map((f) => ({ ...f })),
      pause: async (flow) => {
        fakes.calls.push(`pause ${flow}`);
        if (fakes.failing.has("pause")) throw new Error("coordinator refused the pause");
        setPaused(flow, true);
      },
      resume: async (flow) => {
        fakes.calls.push(`resume ${flow}`);
        if (fakes.failing.has("resume")) throw new Error("coordinator refused the resume");
        setPaused(flow, false);
      },
    },
    lag: {
      flowLag: async (flow) => {
        if (fakes.failing.has("lag")) throw new Error("lag unknown: source unreachable");
        const answers = fakes.lags.get(flow) ?? [[]];
        const partitions = answers.length > 1 ? answers.shift()! : answers[0]!;
        return {
          total: partitions.reduce((sum, p) => sum + p.records, 0n),
          partitions,
          measuredAtMs: Date.now() - fakes.lagStalenessMs,
        };
      },
    },
    offsets: {
      commit: async ({ flow, group, dryRun, toOrigin }): Promise<CommitResult> => {
        fakes.calls.push(
          `${dryRun ? "check" : "commit"} ${group} over ${flow}${toOrigin ? " to origin" : ""}`,
        );
        if (fakes.failing.has("commit")) throw new Error("offsets service unavailable");
        if (fakes.groupsWithoutOffsets.has(group)) {
          return {
            committed: 0,
            problems: [],
            noOffsets: `group "${group}" has no committed offsets`,
          };
        }
        return { committed: 3, problems: fakes.commitProblems };
      },
    },
    checkpoints: {
      checkpoints: async (flow, group) => {
        if (fakes.failing.has("checkpoints")) throw new Error("offsets service unavailable");
        return (
          fakes.checkpointSummaries.get(`${flow}/${group}`) ?? {
            partitions: 0,
            inexact: [],
            oldestAgeMs: undefined,
          }
        );
      },
    },
    agents: { liveAgents: async (region) => fakes.live.get(region) ?? [] },
    probes: {
      probe: async (cluster) =>
        fakes.unreachable.has(cluster)
          ? { reachable: false, error: "connection refused" }
          : { reachable: true },
      consecutiveFailures: (cluster) => fakes.failures.get(cluster) ?? 0,
      unreachableSinceMs: (cluster) => fakes.unreachableSince.get(cluster),
    },
    consumers: {
      members: async (cluster, group) => {
        if (fakes.failing.has("members"))
          throw new Error(`cluster ${cluster} did not answer within 5000 ms`);
        return fakes.members.get(`${cluster}/${group}`) ?? 0;
      },
    },
    writeGuard: {
      deny: async (cluster, select) => guard(cluster, select, true),
      allow: async (cluster, select) => guard(cluster, select, false),
      read: async (cluster, select) => {
        if (fakes.unreachable.has(cluster))
          throw new Error(`cluster ${cluster}: connection refused`);
        if (fakes.noAuthorizer.has(cluster)) return { authorizer: false as const };
        const denied = fakes.denied.get(cluster) ?? new Set<string>();
        const topics = (fakes.topicsOf.get(cluster) ?? []).filter(select);
        return {
          authorizer: true as const,
          denied: topics.filter((t) => denied.has(t)),
          open: topics.filter((t) => !denied.has(t)),
        };
      },
    },
  };
  const guard = async (cluster: string, select: (topic: string) => boolean, deny: boolean) => {
    if (fakes.unreachable.has(cluster)) throw new Error(`cluster ${cluster}: connection refused`);
    if (fakes.noAuthorizer.has(cluster)) return { authorizer: false as const };
    const denied = fakes.denied.get(cluster) ?? new Set<string>();
    fakes.denied.set(cluster, denied);
    const topics = deny
      ? (fakes.topicsOf.get(cluster) ?? []).filter(select)
      : [...denied].filter(select);
    const changed = topics.filter((topic) => denied.has(topic) !== deny);
    for (const topic of topics) deny ? denied.add(topic) : denied.delete(topic);
    return { authorizer: true as const, topics, changed };
  };
  const setPaused = (name: string, paused: boolean) => {
    const index = fakes.flowList.findIndex((f) => f.name === name);
    fakes.flowList[index] = { ...fakes.flowList[index]!, paused };
  };
  return fakes;
}

export const lagOf = (records: number): PartitionLag[] => [
  { topic: "orders", partition: 0, records: BigInt(records) },
  { topic: "orders", partition: 1, records: 0n },
];
