import { GEO_TOPICS } from "@geo/config";
import { PROGRESS_TOPIC_CONFIGS } from "@geo/progress";

/** A topic of the project's own that every target cluster needs. */
export interface InternalTopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly configs: ReadonlyMap<string, string>;
}

// The same configs as when an agent creates them (ensureProgressTopics): whoever comes first
// creates the topic, and agents that load these topics whole need their short segments.
const compacted = new Map(Object.entries(PROGRESS_TOPIC_CONFIGS));

/**
 * What agents and the offset service keep in each target cluster, created by discovery when
 * missing (an existing topic is left as it is). All are compacted: readers want the last record
 * per key (unit progress, offset-map segment, group checkpoint). One partition each keeps a
 * reader's scan simple; they hold one small record per key after compaction.
 */
export const INTERNAL_TOPICS: readonly InternalTopicSpec[] = [
  { topic: GEO_TOPICS.progress, partitions: 1, configs: compacted },
  { topic: GEO_TOPICS.offsetMap, partitions: 1, configs: compacted },
  { topic: GEO_TOPICS.checkpoints, partitions: 1, configs: compacted },
];

/**
 * Configs of an internal topic created with `replicationFactor` replicas: with three or more,
 * an acknowledged progress record survives the loss of a broker (min.insync.replicas=2).
 */
export function internalTopicConfigs(
  spec: InternalTopicSpec,
  replicationFactor: number,
): Map<string, string> {
  const configs = new Map(spec.configs);
  if (replicationFactor >= 3) configs.set("min.insync.replicas", "2");
  return configs;
}
