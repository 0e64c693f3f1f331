// What discovery offers the rest of the coordinator (the admin API now, assignment later).

/**
 * One unit of replication work the coordinator wants done: a source partition of a flow whose
 * remote partition exists in the target, so an agent given it can write at once.
 */
export interface DesiredUnit {
  readonly flow: string;
  readonly sourceTopic: string;
  readonly partition: number;
  readonly remoteTopic: string;
}

/** What the last discovery rounds found for one flow. */
export interface FlowDiscoveryStatus {
  /** Source topics that currently match the flow's filter. */
  readonly matchedTopicCount: number;
  /** Units of the flow (matched source partitions whose remote partition exists). */
  readonly unitCount: number;
  /** Problems that do not stop the flow, each a sentence naming the cluster and topic. */
  readonly warnings: readonly string[];
  /** When the source cluster's topics were last listed successfully; undefined before that. */
  readonly discoveryTime: Date | undefined;
}

export interface Discovery {
  /** Starts the periodic rounds; the first runs at once. */
  start(): void;
  /** Stops the rounds and waits for a running one to finish. */
  stop(): Promise<void>;
  /** Runs a round now (or joins the one running) and resolves when it is done. */
  refresh(): Promise<void>;
  /** Current desired units, ordered by flow, source topic and partition. */
  units(): readonly DesiredUnit[];
  /** Status of one flow; undefined for a flow discovery does not know. */
  flowStatus(flow: string): FlowDiscoveryStatus | undefined;
  /**
   * Called after a round that changed the set of desired units, with the new units. Returns a
   * function that removes the listener.
   */
  onChange(listener: (units: readonly DesiredUnit[]) => void): () => void;
}

/** Orders units by flow, source topic and partition (code-point order, stable across locales). */
export function compareUnits(a: DesiredUnit, b: DesiredUnit): number {
  if (a.flow !== b.flow) return a.flow < b.flow ? -1 : 1;
  if (a.sourceTopic !== b.sourceTopic) return a.sourceTopic < b.sourceTopic ? -1 : 1;
  return a.partition - b.partition;
}
