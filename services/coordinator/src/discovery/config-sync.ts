// Config sync: the replicated topic-level configs of an existing remote topic are kept equal to its
// source's. A side whose configs could not be read is skipped this round, with a problem saying why.
import type { RemoteTopicPlan, TargetContext } from "./target-plan";
import {
  describeTopicConfigs,
  LIST_TIMEOUT_MS,
  type PerTopic,
  setTopicConfigs,
} from "./topic-admin";
import type { TopicChange } from "./topic-changes";
import { describeConfigs, remoteConfigUpdate, type TopicConfigs } from "./topic-configs";

/** Configs of the planned remote topics that exist, to compare with their sources'. */
export async function readRemoteConfigs(
  context: TargetContext,
  existing: readonly RemoteTopicPlan[],
): Promise<PerTopic<TopicConfigs>> {
  if (existing.length === 0 || context.isStopped()) {
    return { values: new Map<string, TopicConfigs>(), errors: new Map<string, string>() };
  }
  return context.cluster.use(
    (client) =>
      describeTopicConfigs(
        client,
        existing.map((plan) => plan.remoteTopic),
      ),
    LIST_TIMEOUT_MS + 20 * existing.length,
  );
}

/** The change bringing the remote topic's configs in line with its source's, if they differ. */
export function configChange(
  context: TargetContext,
  plan: RemoteTopicPlan,
  remoteConfigs: PerTopic<TopicConfigs>,
): TopicChange | undefined {
  const { flow, remoteTopic } = plan;
  const { alias } = context;
  const current = remoteConfigs.values.get(remoteTopic);
  if (plan.configs === undefined || current === undefined) {
    const why = plan.configError ?? remoteConfigs.errors.get(remoteTopic);
    context.problem(
      flow.name,
      `configs of ${remoteTopic} on ${alias} not synced this round: ${why ?? "unknown error"}`,
    );
    return undefined;
  }
  const update = remoteConfigUpdate(plan.configs, current);
  if (update === undefined) return undefined;
  return {
    plan,
    run: (client) => setTopicConfigs(client, remoteTopic, update),
    done: () =>
      context.logger.info(
        { flow: flow.name, cluster: alias, topic: remoteTopic },
        `synced configs of remote topic ${remoteTopic} on ${alias}: ${describeConfigs(update)} (was ${describeConfigs(current)})`,
      ),
  };
}
