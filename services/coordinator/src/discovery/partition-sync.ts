// Partition sync: a remote topic grows when its source grew. One with more partitions than its
// source is left alone (Kafka cannot shrink a topic) and shown as a problem.
import type { RemoteTopicPlan, TargetContext } from "./target-plan";
import { growTopic } from "./topic-admin";
import type { TopicChange } from "./topic-changes";

/** The change growing the plan's existing remote topic, if it has fewer partitions than its source. */
export function partitionChange(
  context: TargetContext,
  plan: RemoteTopicPlan,
  remotePartitions: number,
  topics: Map<string, number>,
): TopicChange | undefined {
  const { flow, remoteTopic, sourceTopic, partitions } = plan;
  const { alias, logger } = context;
  if (remotePartitions > partitions) {
    context.problem(
      flow.name,
      `remote topic ${remoteTopic} on ${alias} has ${remotePartitions} partitions, more than the ${partitions} of ${sourceTopic} on ${flow.source}; the extra partitions receive nothing`,
    );
  }
  if (remotePartitions >= partitions) return undefined;
  return {
    plan,
    run: (client) => growTopic(client, remoteTopic, partitions),
    done: () => {
      topics.set(remoteTopic, partitions);
      logger.info(
        {
          flow: flow.name,
          cluster: alias,
          topic: remoteTopic,
          from: remotePartitions,
          to: partitions,
        },
        `grew remote topic ${remoteTopic} on ${alias} from ${remotePartitions} to ${partitions} partitions`,
      );
    },
  };
}
