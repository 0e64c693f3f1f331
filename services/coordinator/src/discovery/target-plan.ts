// What every flow into a target cluster wants there: one plan per matched source topic, naming its
// remote topic, partition count and configs. Remote names Kafka would refuse (too long) or that two
// flows would both write are left out with a problem saying why.
import { createTopicFilter, type FlowConfig, remoteTopicName } from "@geo/config";
import type { ClusterAdmin } from "@geo/kafka";
import type { Logger } from "@geo/logging";
import type { SourceRound } from "./source-listing";
import { replicatedConfigs, type TopicConfigs } from "./topic-configs";

/** Kafka refuses longer topic names (Topic.MAX_NAME_LENGTH). */
export const MAX_TOPIC_NAME_LENGTH = 249;

/** What the steps of one target's sync share. */
export interface TargetContext {
  readonly alias: string;
  readonly cluster: ClusterAdmin;
  readonly logger: Logger;
  readonly replicationFactor: number;
  readonly isStopped: () => boolean;
  /** Records a problem shown in the flow's status. */
  readonly problem: (flow: string, text: string) => void;
}

export interface RemoteTopicPlan {
  readonly flow: FlowConfig;
  readonly sourceTopic: string;
  readonly remoteTopic: string;
  readonly partitions: number;
  /** The source topic's topic-level configs; undefined when they could not be read. */
  readonly configs: TopicConfigs | undefined;
  /** What of them the remote topic gets. */
  readonly replicated: TopicConfigs;
  readonly configError: string | undefined;
}

export function planRemoteTopics(
  context: TargetContext,
  flows: readonly FlowConfig[],
  sources: ReadonlyMap<string, SourceRound>,
): RemoteTopicPlan[] {
  const plans: RemoteTopicPlan[] = [];
  const claimedBy = new Map<string, string>();
  for (const flow of flows) {
    const source = sources.get(flow.source);
    if (source === undefined) continue;
    const filter = createTopicFilter(flow);
    for (const sourceTopic of [...source.topics.keys()].filter(filter).sort()) {
      const remoteTopic = remoteTopicName(flow, flow.source, sourceTopic);
      if (remoteTopic.length > MAX_TOPIC_NAME_LENGTH) {
        // The broker would only answer "invalid topic"; say what is wrong and what to do.
        context.problem(flow.name, overlongRemoteName(flow, sourceTopic, remoteTopic));
        continue;
      }
      const owner = claimedBy.get(remoteTopic);
      if (owner !== undefined) {
        context.problem(
          flow.name,
          `remote topic ${remoteTopic} on ${context.alias} is already written by flow ${owner}; ${flow.source}:${sourceTopic} is not replicated`,
        );
        continue;
      }
      claimedBy.set(remoteTopic, flow.name);
      plans.push(planFor(flow, source, sourceTopic, remoteTopic));
    }
  }
  return plans;
}

function planFor(
  flow: FlowConfig,
  source: SourceRound,
  sourceTopic: string,
  remoteTopic: string,
): RemoteTopicPlan {
  const configs = source.configs.get(sourceTopic);
  return {
    flow,
    sourceTopic,
    remoteTopic,
    partitions: source.topics.get(sourceTopic) ?? 0,
    configs,
    replicated: replicatedConfigs(configs ?? new Map()),
    configError: source.configErrors.get(sourceTopic),
  };
}

function overlongRemoteName(flow: FlowConfig, sourceTopic: string, remoteTopic: string): string {
  const prefix = remoteTopic.slice(0, remoteTopic.length - sourceTopic.length);
  return `remote topic name for ${flow.source}:${sourceTopic} would be ${remoteTopic.length} characters ("${prefix}" and the ${sourceTopic.length}-character source name), over Kafka's limit of ${MAX_TOPIC_NAME_LENGTH}: it is not replicated; use identity naming for this flow, or exclude the topic (topics.exclude)`;
}
