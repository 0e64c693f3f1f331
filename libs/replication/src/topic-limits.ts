import { CodedError } from "@geo/errors";
import type { ClusterAdmin } from "@geo/kafka";
import { BatchLoader } from "./batch-loader";

/** kafkajs's ConfigResourceTypes.TOPIC (a runtime value of kafkajs, which this package does not import). */
const TOPIC_RESOURCE = 2;
const MAX_MESSAGE_BYTES = "max.message.bytes";

/** A topic's config could not be read (missing topic, no DescribeConfigs permission, timeout). */
export class TopicConfigError extends CodedError<"TOPIC_CONFIG_UNREADABLE"> {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("TOPIC_CONFIG_UNREADABLE", message, { retriable: true, cause: options.cause });
  }
}

/** Topic → its effective max.message.bytes, or why it could not be read. */
export type DescribeMaxMessageBytes = (
  topics: readonly string[],
) => Promise<Map<string, number | TopicConfigError>>;

const asConfigError = (e: unknown) =>
  e instanceof TopicConfigError
    ? e
    : new TopicConfigError((e as Error)?.message ?? String(e), { cause: e });

/**
 * DescribeConfigs of one cluster's topics. The value is the effective one: the topic's own
 * setting, else the broker's message.max.bytes, else Kafka's default.
 */
export function describeMaxMessageBytes(
  admin: ClusterAdmin,
  timeoutMs: number,
): DescribeMaxMessageBytes {
  const describe = (topics: readonly string[]) =>
    admin.use(async (a) => {
      const { resources } = await a.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((name) => ({
          type: TOPIC_RESOURCE,
          name,
          configNames: [MAX_MESSAGE_BYTES],
        })),
      });
      const found = new Map<string, number | TopicConfigError>();
      for (const r of resources) {
        const value = r.configEntries.find((e) => e.configName === MAX_MESSAGE_BYTES)?.configValue;
        const bytes = Number(value);
        found.set(
          r.resourceName,
          value != null && Number.isSafeInteger(bytes) && bytes > 0
            ? bytes
            : new TopicConfigError(`${r.resourceName}: ${MAX_MESSAGE_BYTES} is "${value}"`),
        );
      }
      return found;
    }, timeoutMs);
  return async (topics) => {
    try {
      return await describe(topics);
    } catch (e) {
      if (topics.length === 1) return new Map([[topics[0]!, asConfigError(e)]]);
      // kafkajs fails the whole request when one topic does (a remote topic not created yet):
      // ask topic by topic so the others are still checked. One at a time, because a failure
      // drops the admin connection the others would share.
      const found = new Map<string, number | TopicConfigError>();
      for (const topic of topics) {
        try {
          const one = await describe([topic]);
          found.set(topic, one.get(topic) ?? new TopicConfigError(`${topic}: not described`));
        } catch (error) {
          found.set(topic, asConfigError(error));
        }
      }
      return found;
    }
  };
}

/**
 * Effective max.message.bytes of one cluster's topics, read once per topic (however many of its
 * partitions start) and kept until `refresh()`. Failures are not kept: the next start asks again.
 */
export class TopicLimits {
  private readonly cache = new Map<string, Promise<number>>();
  private readonly loader: BatchLoader<string, number | TopicConfigError>;

  constructor(describe: DescribeMaxMessageBytes) {
    this.loader = new BatchLoader(async (topics) => {
      const found = await describe([...new Set(topics)]);
      return topics.map((t) => found.get(t) ?? new TopicConfigError(`${t}: not described`));
    });
  }

  maxMessageBytes(topic: string): Promise<number> {
    let value = this.cache.get(topic);
    if (value === undefined) {
      const loading = this.loader.load(topic).then((v) => {
        if (v instanceof Error) throw v;
        return v;
      });
      loading.catch(() => {
        if (this.cache.get(topic) === loading) this.cache.delete(topic);
      });
      this.cache.set(topic, loading);
      value = loading;
    }
    return value;
  }

  /** Read every topic again on its next use: topic configs change, rarely. */
  refresh(): void {
    this.cache.clear();
  }
}
