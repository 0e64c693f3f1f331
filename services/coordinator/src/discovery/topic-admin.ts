// The admin requests discovery makes, each tolerant of per-topic failures: a topic deleted or
// refused in the middle of a round costs that topic a warning, never the whole round.
import type { Admin } from "@geo/kafka";
import { type TopicConfigs, topicLevelConfigs } from "./topic-configs";

/** kafkajs's ConfigResourceTypes.TOPIC (the enum is a runtime value of kafkajs, not imported). */
const TOPIC_RESOURCE = 2;
const DESCRIBE_BATCH = 200;
/** Deadline of a listing or a config read (plus a little per topic for the latter). */
export const LIST_TIMEOUT_MS = 5000;

/** Every topic of the cluster (internal ones included) with its partition count. */
export async function listTopicPartitions(admin: Admin): Promise<Map<string, number>> {
  // No topic list: one Metadata request for all topics. The admin client never auto-creates.
  const { topics } = await admin.fetchTopicMetadata();
  return new Map(topics.map((topic) => [topic.name, topic.partitions.length]));
}

export async function brokerCount(admin: Admin): Promise<number> {
  return (await admin.describeCluster()).brokers.length;
}

export interface PerTopic<T> {
  readonly values: Map<string, T>;
  /** Topic -> why it failed. */
  readonly errors: Map<string, string>;
}

/**
 * Topic-level configs of `topics`, in batches. A batch that fails (one of its topics was deleted
 * since the listing, say) is retried topic by topic, so only the failing topics miss out.
 */
export async function describeTopicConfigs(
  admin: Admin,
  topics: readonly string[],
): Promise<PerTopic<TopicConfigs>> {
  const values = new Map<string, TopicConfigs>();
  const errors = new Map<string, string>();
  const describe = async (names: readonly string[]) => {
    const { resources } = await admin.describeConfigs({
      resources: names.map((name) => ({ type: TOPIC_RESOURCE, name })),
      includeSynonyms: false,
    });
    for (const resource of resources) {
      values.set(resource.resourceName, topicLevelConfigs(resource.configEntries));
    }
  };
  for (let start = 0; start < topics.length; start += DESCRIBE_BATCH) {
    const batch = topics.slice(start, start + DESCRIBE_BATCH);
    try {
      await describe(batch);
    } catch {
      for (const name of batch) {
        try {
          await describe([name]);
        } catch (error) {
          errors.set(name, errorMessage(error));
        }
      }
    }
  }
  return { values, errors };
}

export interface TopicToCreate {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: TopicConfigs;
}

export interface CreateOutcome {
  /** False when the topic already existed (created by someone else meanwhile). */
  readonly created: boolean;
  /** Set when the broker refused the configs and the topic was created without them. */
  readonly configsRefused?: string;
}

/**
 * Creates topics, all in one request when that works. Otherwise topic by topic, and a topic
 * whose configs the target refuses (a config its Kafka version does not know) is created
 * without them: replication can start, and the refusal is reported.
 */
export async function createTopics(
  admin: Admin,
  topics: readonly TopicToCreate[],
): Promise<PerTopic<CreateOutcome>> {
  const values = new Map<string, CreateOutcome>();
  const errors = new Map<string, string>();
  if (topics.length === 0) return { values, errors };
  const request = (list: readonly TopicToCreate[], withConfigs: boolean) =>
    admin.createTopics({
      waitForLeaders: true,
      topics: list.map((topic) => ({
        topic: topic.topic,
        numPartitions: topic.partitions,
        replicationFactor: topic.replicationFactor,
        configEntries: withConfigs
          ? [...topic.configs].map(([name, value]) => ({ name, value }))
          : [],
      })),
    });
  try {
    const created = await request(topics, true);
    // kafkajs answers false only when every topic already existed.
    for (const topic of topics) values.set(topic.topic, { created });
    return { values, errors };
  } catch {
    // Fall through: find out topic by topic.
  }
  for (const topic of topics) {
    try {
      values.set(topic.topic, { created: await request([topic], true) });
    } catch (error) {
      const type = errorType(error);
      if (topic.configs.size > 0 && (type === "INVALID_CONFIG" || type === "POLICY_VIOLATION")) {
        try {
          const created = await request([topic], false);
          values.set(topic.topic, { created, configsRefused: errorMessage(error) });
          continue;
        } catch (retryError) {
          errors.set(topic.topic, errorMessage(retryError));
          continue;
        }
      }
      errors.set(topic.topic, errorMessage(error));
    }
  }
  return { values, errors };
}

/** Grows one topic to `partitions` (Kafka only ever adds partitions). */
export async function growTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  await admin.createPartitions({ topicPartitions: [{ topic, count: partitions }] });
}

/**
 * Replaces the topic-level configs of `topic` with `configs` (AlterConfigs is not incremental:
 * a config left out returns to its default).
 */
export async function setTopicConfigs(
  admin: Admin,
  topic: string,
  configs: TopicConfigs,
): Promise<void> {
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: TOPIC_RESOURCE,
        name: topic,
        configEntries: [...configs].map(([name, value]) => ({ name, value })),
      },
    ],
  });
}

/** The message of an error, with the per-topic errors kafkajs aggregates. */
export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const nested = (error as { errors?: unknown[] }).errors;
  if (Array.isArray(nested) && nested.length > 0) {
    return nested.map((inner) => errorMessage(inner)).join("; ");
  }
  return error.message;
}

/** kafkajs's protocol error type ("INVALID_CONFIG"), also when wrapped in an aggregate. */
function errorType(error: unknown): string | undefined {
  const direct = (error as { type?: unknown } | undefined)?.type;
  if (typeof direct === "string") return direct;
  const nested = (error as { errors?: unknown[] } | undefined)?.errors;
  return Array.isArray(nested) && nested.length > 0 ? errorType(nested[0]) : undefined;
}
