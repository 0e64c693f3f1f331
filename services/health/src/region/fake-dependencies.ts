// Fakes of every transition dependency, for the runner's unit tests (not exported).
import type { CommitResult, FlowInfo, PartitionLag, TransitionDependencies } from "./dependencies";

export interface Fakes extends TransitionDependencies {
  readonly flowList: FlowInfo[];
  /** Lag answers per flow, consumed one per call; the last one repeats. */
  readonly lags: Map<string, (readonly PartitionLag[])[]>;
  /** How old every lag answer is (a measurement taken that long ago). */
  lagStalenessMs: number;
  readonly live: Map<string, string[]>;
  readonly unreachable: Set<string>;
  readonly failures: Map<string, number>;
  readonly members: Map<string, number>;
  /** Failures to inject, by operation name: pause, resume, commit, lag. */
  readonly failing: Set<string>;
  readonly calls: string[];
  commitProblems: string[];
}

export function createFakes(): Fakes {
  const fakes: Fakes = {
    flowList: [
      { name: "east-west", source: "us-east", target: "eu-west", paused: false },
      { name: "west-east", source: "eu-west", target: "us-east", paused: true },
    ],
    lags: new Map(),
    lagStalenessMs: 0,
    live: new Map([
      ["us-east", ["agent-us-1"]],
      ["eu-west", ["agent-eu-1"]],
    ]),
    unreachable: new Set(),
    failures: new Map(),
    members: new Map(),
    failing: new Set(),
    calls: [],
    commitProblems: [],
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
        return { committed: 3, problems: fakes.commitProblems };
      },
    },
    agents: { liveAgents: async (region) => fakes.live.get(region) ?? [] },
    probes: {
      probe: async (cluster) =>
        fakes.unreachable.has(cluster)
          ? { reachable: false, error: "connection refused" }
          : { reachable: true },
      consecutiveFailures: (cluster) => fakes.failures.get(cluster) ?? 0,
    },
    consumers: { members: async (cluster, group) => fakes.members.get(`${cluster}/${group}`) ?? 0 },
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
