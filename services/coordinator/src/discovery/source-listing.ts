// Listing a source cluster: its topics with their partition counts, and the topic-level configs of
// those its flows match (read once for all flows reading the cluster).
import { createTopicFilter, type FlowConfig } from "@geo/config";
import type { ClusterAdmin } from "@geo/kafka";
import type { ClusterAttempts } from "./cluster-attempts";
import {
  describeTopicConfigs,
  errorMessage,
  LIST_TIMEOUT_MS,
  listTopicPartitions,
} from "./topic-admin";
import type { TopicConfigs } from "./topic-configs";

export interface SourceRound {
  readonly at: Date;
  readonly topics: ReadonlyMap<string, number>;
  readonly configs: ReadonlyMap<string, TopicConfigs>;
  readonly configErrors: ReadonlyMap<string, string>;
}

export interface SourceListingContext {
  readonly attempts: ClusterAttempts;
  readonly admin: (alias: string) => ClusterAdmin;
  readonly isStopped: () => boolean;
}

/** Lists every source cluster of `flows` in parallel; a cluster that failed or was skipped is absent. */
export async function listSources(
  context: SourceListingContext,
  flows: readonly FlowConfig[],
): Promise<Map<string, SourceRound>> {
  const readers = (alias: string) => flows.filter((flow) => flow.source === alias);
  const aliases = flows.map((flow) => flow.source);
  return context.attempts.each("source", aliases, (alias) =>
    listSource(context.admin(alias), readers(alias), context.isStopped),
  );
}

/** Lists a source cluster's topics and reads the configs of those its flows match. */
async function listSource(
  cluster: ClusterAdmin,
  flows: readonly FlowConfig[],
  isStopped: () => boolean,
): Promise<SourceRound> {
  const topics = await cluster.use(listTopicPartitions, LIST_TIMEOUT_MS);
  const at = new Date();
  const matched = matchedTopics(flows, topics);
  if (matched.size === 0 || isStopped()) {
    return { at, topics, configs: new Map(), configErrors: new Map() };
  }
  return { at, topics, ...(await readConfigs(cluster, matched)) };
}

function matchedTopics(
  flows: readonly FlowConfig[],
  topics: ReadonlyMap<string, number>,
): Set<string> {
  const matched = new Set<string>();
  for (const flow of flows) {
    const filter = createTopicFilter(flow);
    for (const topic of topics.keys()) if (filter(topic)) matched.add(topic);
  }
  return matched;
}

/** The topics' configs; a failed read marks every topic's configs unknown, with the reason. */
async function readConfigs(
  cluster: ClusterAdmin,
  topics: ReadonlySet<string>,
): Promise<Pick<SourceRound, "configs" | "configErrors">> {
  try {
    const described = await cluster.use(
      (client) => describeTopicConfigs(client, [...topics]),
      LIST_TIMEOUT_MS + 20 * topics.size,
    );
    return { configs: described.values, configErrors: described.errors };
  } catch (error) {
    const message = errorMessage(error);
    return {
      configs: new Map(),
      configErrors: new Map([...topics].map((topic) => [topic, message])),
    };
  }
}
