import type { FlowConfig, NamingPolicy } from "./geo-config";

/**
 * The project's own topics. All start with "__geo." so that every tool that follows Kafka's
 * convention (MirrorMaker 2, Confluent Replicator, our own isInternalTopic) already treats them
 * as internal and never replicates them, even when run beside us.
 *
 * - progress: per target cluster, the next source offset of every replicated partition with the
 *   epoch and agent that wrote it (compacted).
 * - offsetMap: per target cluster, offset-map segments (source offset -> target offset).
 * - checkpoints: per target cluster, translated consumer group offsets.
 * - heartbeats: per source cluster, heartbeats the health service writes, in MirrorMaker 2's
 *   topic ("heartbeats") and format, so MM2's MirrorClient finds our replication hops. Not
 *   internal by name: flows carry them (every filter lets them through unless it excludes them
 *   explicitly) to measure end-to-end latency; with prefix naming they arrive in the target as
 *   "<source>.heartbeats", as MM2's do.
 */
export const GEO_TOPICS = Object.freeze({
  progress: "__geo.progress",
  offsetMap: "__geo.offset-map",
  checkpoints: "__geo.checkpoints",
  flows: "__geo.flows",
  regions: "__geo.regions",
  heartbeats: "heartbeats",
});

/**
 * Record header a flow with `provenanceHeader: true` adds, whose value is the alias of the
 * cluster the record was first produced to. A flow never copies a record whose provenance is
 * its own target.
 */
export const PROVENANCE_HEADER = "geo.origin";

/**
 * Name of the copy of `topic` from cluster `sourceAlias` in the target. Prefix naming keeps what
 * MirrorMaker 2 users know ("us-east.orders"); identity keeps the name.
 */
export function remoteTopicName(
  flow: Pick<FlowConfig, "naming"> | { readonly naming: NamingPolicy },
  sourceAlias: string,
  topic: string,
): string {
  return flow.naming === "identity" ? topic : `${sourceAlias}.${topic}`;
}

/**
 * Topics no flow replicates, whatever its filter says: Kafka's and tools' internal topics
 * ("__consumer_offsets", "__transaction_state", MirrorMaker 2's "*.internal" and "*-internal",
 * Connect's "connect-*-internal" when so named, dot-prefixed hidden topics) and ours ("__geo.*",
 * covered by the "__" rule). Same rule as MirrorMaker 2's DefaultReplicationPolicy.
 */
export function isInternalTopic(name: string): boolean {
  return (
    name.startsWith("__") ||
    name.startsWith(".") ||
    name.endsWith(".internal") ||
    name.endsWith("-internal")
  );
}

/**
 * Whether `name` is a heartbeats topic as MirrorMaker 2 recognises them: "heartbeats" or a
 * remote copy of it ("us-east.heartbeats", "eu-west.us-east.heartbeats" after two hops).
 */
export function isHeartbeatsTopic(name: string): boolean {
  return name === GEO_TOPICS.heartbeats || name.endsWith(`.${GEO_TOPICS.heartbeats}`);
}

/**
 * Predicate telling whether `flow` replicates a source topic: not internal, not a copy that came
 * from the flow's own target (prefix naming: "<target>.x" would loop back), matched in full by
 * an include regex (heartbeats topics count as included, so that every flow carries the health
 * service's heartbeats, as MM2's flows do) and by no exclude regex. Assumes the regexes were
 * validated by parseConfig.
 */
export function createTopicFilter(
  flow: Pick<FlowConfig, "target" | "naming" | "topics">,
): (topic: string) => boolean {
  const include = flow.topics.include.map(anchored);
  const exclude = flow.topics.exclude.map(anchored);
  const loopPrefix = `${flow.target}.`;
  return (topic) => {
    if (isInternalTopic(topic)) return false;
    if (flow.naming === "prefix" && topic.startsWith(loopPrefix)) return false;
    if (!isHeartbeatsTopic(topic) && !include.some((re) => re.test(topic))) return false;
    return !exclude.some((re) => re.test(topic));
  };
}

/**
 * Compiles a filter regex so that it must match the whole topic name. No "u" flag: users bring
 * Java-style patterns such as `.*[\-\.]internal`, whose identity escapes unicode mode rejects.
 */
export function anchored(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}
