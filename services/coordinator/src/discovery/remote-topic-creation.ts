// Creating topics on a target: the project's internal topics when missing, and remote topics with
// their source's partition count and replicated configs. `topics` (the target's partition counts)
// is updated with what was created.
import { INTERNAL_TOPICS, internalTopicConfigs } from "./internal-topics";
import type { RemoteTopicPlan, TargetContext } from "./target-plan";
import { createTopics, type TopicToCreate } from "./topic-admin";
import { describeConfigs } from "./topic-configs";

/** Creates the missing internal topics; returns the problems of those that could not be. */
export async function createMissingInternalTopics(
  context: TargetContext,
  topics: Map<string, number>,
): Promise<string[]> {
  const { alias, cluster, logger, replicationFactor } = context;
  const targetProblems: string[] = [];
  const missing = INTERNAL_TOPICS.filter((spec) => !topics.has(spec.topic));
  if (missing.length === 0 || context.isStopped()) return targetProblems;
  const requests = missing.map((spec) => ({
    topic: spec.topic,
    partitions: spec.partitions,
    replicationFactor,
    configs: internalTopicConfigs(spec, replicationFactor),
  }));
  const outcome = await cluster.use((client) => createTopics(client, requests), 10_000);
  for (const spec of missing) {
    const error = outcome.errors.get(spec.topic);
    if (error === undefined) {
      topics.set(spec.topic, spec.partitions);
      logger.info(
        { cluster: alias, topic: spec.topic, replicationFactor },
        `created internal topic ${spec.topic} on ${alias}`,
      );
    } else {
      targetProblems.push(`could not create internal topic ${spec.topic} on ${alias}: ${error}`);
    }
  }
  return targetProblems;
}

/** Creates the planned remote topics that do not exist yet. */
export async function createRemoteTopics(
  context: TargetContext,
  plans: readonly RemoteTopicPlan[],
  topics: Map<string, number>,
): Promise<void> {
  if (plans.length === 0 || context.isStopped()) return;
  const requests: TopicToCreate[] = plans.map((plan) => ({
    topic: plan.remoteTopic,
    partitions: plan.partitions,
    replicationFactor: context.replicationFactor,
    configs: plan.replicated,
  }));
  const outcome = await context.cluster.use(
    (client) => createTopics(client, requests),
    10_000 + 200 * requests.length,
  );
  for (const plan of plans) {
    const result = outcome.values.get(plan.remoteTopic);
    if (result === undefined) {
      context.problem(
        plan.flow.name,
        `could not create remote topic ${plan.remoteTopic} on ${context.alias}: ${outcome.errors.get(plan.remoteTopic) ?? "unknown error"}`,
      );
      continue;
    }
    // A topic someone else created meanwhile is counted at the next listing.
    if (result.created) topics.set(plan.remoteTopic, plan.partitions);
    if (result.configsRefused !== undefined) {
      context.problem(
        plan.flow.name,
        `remote topic ${plan.remoteTopic} was created on ${context.alias} without the configs of its source (${describeConfigs(plan.replicated)}): ${result.configsRefused}`,
      );
    }
    if (result.created) logCreated(context, plan);
  }
}

function logCreated(context: TargetContext, plan: RemoteTopicPlan): void {
  const { alias, replicationFactor } = context;
  context.logger.info(
    {
      flow: plan.flow.name,
      cluster: alias,
      topic: plan.remoteTopic,
      partitions: plan.partitions,
      replicationFactor,
    },
    `created remote topic ${plan.remoteTopic} on ${alias} with ${plan.partitions} partitions, configs: ${describeConfigs(plan.replicated)}`,
  );
}
