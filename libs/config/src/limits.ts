// What one flow definition may contain, wherever it comes from (the file or the admin API).
// The limits keep every check of a flow (regex compilation, overlap with the other flows) and the
// flow history record small and fast: one request must not stall the coordinator that also
// renews its leader lease, nor write a record the flow store's cluster refuses.

export const FLOW_LIMITS = Object.freeze({
  /** Patterns in one `topics.include` or `topics.exclude` list. */
  maxPatternsPerList: 1000,
  /** Characters of one pattern. Kafka topic names have at most 249. */
  maxPatternLength: 512,
  /**
   * Characters of all patterns of one flow together. A flow change record holds the flow before
   * and after, so this keeps it well under Kafka's default 1 MB message size.
   */
  maxFilterChars: 128 * 1024,
  /** Flows active together (file and API). */
  maxFlows: 1000,
  /** Characters of a flow name, a cluster alias, an agent id. */
  maxNameLength: 100,
});

export type FlowLimits = typeof FLOW_LIMITS;
