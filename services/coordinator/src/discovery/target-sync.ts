// Syncing a target cluster with the fresh listings of its flows' sources: internal topics created,
// remote topics created, grown and their configs kept in step. Problems are collected per flow
// (and for the target itself) for the flows' status; nothing is ever deleted.
import type { FlowConfig } from "@geo/config";
import type { ClusterAdmin } from "@geo/kafka";
import type { Logger } from "@geo/logging";
import type { ClusterAttempts } from "./cluster-attempts";
import { configChange, readRemoteConfigs } from "./config-sync";
import { partitionChange } from "./partition-sync";
import { createMissingInternalTopics, createRemoteTopics } from "./remote-topic-creation";
import type { SourceRound } from "./source-listing";
import { planRemoteTopics, type RemoteTopicPlan, type TargetContext } from "./target-plan";
import { brokerCount, LIST_TIMEOUT_MS, listTopicPartitions, type PerTopic } from "./topic-admin";
import { applyTopicChanges, type TopicChange } from "./topic-changes";
import type { TopicConfigs } from "./topic-configs";

export interface TargetRound {
  /** Partition counts of the target's topics after this round's changes. */
  readonly topics: ReadonlyMap<string, number>;
  readonly problemsByFlow: ReadonlyMap<string, string[]>;
  /** Problems of the target itself (internal topics), shown on every flow into it. */
  readonly targetProblems: readonly string[];
}

export interface TargetSyncContext {
  readonly attempts: ClusterAttempts;
  readonly admin: (alias: string) => ClusterAdmin;
  readonly logger: Logger;
  readonly isStopped: () => boolean;
  /** Remote and internal topics get min(this, target broker count) replicas. */
  readonly maxReplicationFactor: number;
}

/** Syncs every target cluster of `flows` in parallel; a cluster that failed or was skipped is absent. */
export async function syncTargets(
  context: TargetSyncContext,
  flows: readonly FlowConfig[],
  sources: ReadonlyMap<string, SourceRound>,
): Promise<Map<string, TargetRound>> {
  return context.attempts.each(
    "target",
    flows.map((flow) => flow.target),
    (alias) =>
      syncTarget(
        context,
        alias,
        flows.filter((flow) => flow.target === alias),
        sources,
      ),
  );
}

/** Brings one target cluster in line with the fresh listings of its flows' sources. */
async function syncTarget(
  sync: TargetSyncContext,
  alias: string,
  flows: readonly FlowConfig[],
  sources: ReadonlyMap<string, SourceRound>,
): Promise<TargetRound> {
  const cluster = sync.admin(alias);
  const { brokers, listed } = await cluster.use(
    async (client) => ({
      brokers: await brokerCount(client),
      listed: await listTopicPartitions(client),
    }),
    LIST_TIMEOUT_MS,
  );
  const topics = new Map(listed);
  const problemsByFlow = new Map<string, string[]>();
  const context: TargetContext = {
    alias,
    cluster,
    logger: sync.logger,
    replicationFactor: Math.max(1, Math.min(sync.maxReplicationFactor, brokers)),
    isStopped: sync.isStopped,
    problem: (flow, text) => {
      const list = problemsByFlow.get(flow) ?? [];
      list.push(text);
      problemsByFlow.set(flow, list);
    },
  };
  const targetProblems = await createMissingInternalTopics(context, topics);
  const plans = planRemoteTopics(context, flows, sources);
  const existing = plans.filter((plan) => topics.has(plan.remoteTopic));
  const remoteConfigs = await readRemoteConfigs(context, existing);
  const { toCreate, changes } = sortPlans(context, plans, topics, remoteConfigs);
  await createRemoteTopics(context, toCreate, topics);
  await applyTopicChanges(context, changes);
  return { topics, problemsByFlow, targetProblems };
}

/**
 * Splits the plans into remote topics to create and changes to existing ones (partitions first,
 * then configs, plan by plan). A remote topic whose source configs are unknown is not created yet.
 */
function sortPlans(
  context: TargetContext,
  plans: readonly RemoteTopicPlan[],
  topics: Map<string, number>,
  remoteConfigs: PerTopic<TopicConfigs>,
): { toCreate: RemoteTopicPlan[]; changes: TopicChange[] } {
  const toCreate: RemoteTopicPlan[] = [];
  const changes: TopicChange[] = [];
  for (const plan of plans) {
    const remotePartitions = topics.get(plan.remoteTopic);
    if (remotePartitions === undefined) {
      if (plan.configs === undefined) {
        context.problem(
          plan.flow.name,
          `remote topic ${plan.remoteTopic} not created on ${context.alias} yet: could not read the configs of ${plan.sourceTopic} on ${plan.flow.source}: ${plan.configError ?? "unknown error"}`,
        );
      } else {
        toCreate.push(plan);
      }
      continue;
    }
    const grow = partitionChange(context, plan, remotePartitions, topics);
    if (grow !== undefined) changes.push(grow);
    const sync = configChange(context, plan, remoteConfigs);
    if (sync !== undefined) changes.push(sync);
  }
  return { toCreate, changes };
}
