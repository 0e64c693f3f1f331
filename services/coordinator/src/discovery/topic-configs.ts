// Which topic configs follow a source topic to its remote copy. Pure functions, so the rules can
// be tested without a broker.

/**
 * Configs never copied to a remote topic: MirrorMaker 2's exclude list. They describe the
 * source cluster's operations (throttles, durability, timestamp policy), which the target's
 * operators decide for themselves; values they set on a remote topic are kept.
 */
export const EXCLUDED_TOPIC_CONFIGS: ReadonlySet<string> = new Set([
  "follower.replication.throttled.replicas",
  "leader.replication.throttled.replicas",
  "message.timestamp.difference.max.ms",
  "message.timestamp.type",
  "unclean.leader.election.enable",
  "min.insync.replicas",
]);

/** Kafka's DescribeConfigs `config_source` for a config set on the topic itself. */
const DYNAMIC_TOPIC_CONFIG = 1;

/** A config entry as kafkajs's describeConfigs returns it (only the fields used here). */
export interface DescribedConfigEntry {
  readonly configName: string;
  readonly configValue: string | null;
  readonly isDefault?: boolean;
  readonly isSensitive?: boolean;
  readonly configSource?: number;
}

export type TopicConfigs = ReadonlyMap<string, string>;

/**
 * Configs set on the topic itself (not defaults, not broker-wide settings). Sensitive entries,
 * whose values brokers never reveal, are left out. Brokers older than DescribeConfigs v1 report
 * no source; then "not default" stands in for it.
 */
export function topicLevelConfigs(entries: readonly DescribedConfigEntry[]): Map<string, string> {
  const configs = new Map<string, string>();
  for (const entry of entries) {
    if (entry.isSensitive === true || entry.configValue === null) continue;
    const setOnTopic =
      entry.configSource === undefined
        ? entry.isDefault === false
        : entry.configSource === DYNAMIC_TOPIC_CONFIG;
    if (setOnTopic) configs.set(entry.configName, entry.configValue);
  }
  return configs;
}

/** The source topic's configs that its remote copy gets: topic-level, minus the exclude list. */
export function replicatedConfigs(sourceTopicConfigs: TopicConfigs): Map<string, string> {
  const configs = new Map<string, string>();
  for (const [name, value] of sourceTopicConfigs) {
    if (!EXCLUDED_TOPIC_CONFIGS.has(name)) configs.set(name, value);
  }
  return configs;
}

/**
 * The full set of topic-level configs the remote topic should carry (what a non-incremental
 * AlterConfigs must send): the source's replicated configs plus the excluded ones the target's
 * operators set on it. Undefined when the remote topic already has exactly that.
 */
export function remoteConfigUpdate(
  sourceTopicConfigs: TopicConfigs,
  remoteTopicConfigs: TopicConfigs,
): Map<string, string> | undefined {
  const wanted = replicatedConfigs(sourceTopicConfigs);
  for (const [name, value] of remoteTopicConfigs) {
    if (EXCLUDED_TOPIC_CONFIGS.has(name)) wanted.set(name, value);
  }
  return sameConfigs(wanted, remoteTopicConfigs) ? undefined : wanted;
}

export function sameConfigs(a: TopicConfigs, b: TopicConfigs): boolean {
  if (a.size !== b.size) return false;
  for (const [name, value] of a) {
    if (b.get(name) !== value) return false;
  }
  return true;
}

/** `name=value, ...` in name order, for logs and warnings. */
export function describeConfigs(configs: TopicConfigs): string {
  return (
    [...configs]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, value]) => `${name}=${value}`)
      .join(", ") || "none"
  );
}
