// The last successful lag measurement of every flow's partitions, with when it was taken. A
// failover needs the lag of the region it is leaving, which by then cannot be measured: the
// last measurement before the loss is the best account of the records at risk.
import type { FlowLag, PartitionLag } from "./flow-lag";

export interface KnownPartitionLag extends PartitionLag {
  /** Date.now() of the measurement. */
  readonly measuredAtMs: number;
}

export class LastKnownLags {
  private readonly flows = new Map<string, Map<string, KnownPartitionLag>>();

  /** Keeps a measured lag's partitions; an unknown lag changes nothing. */
  update(lag: FlowLag): void {
    if (lag.unknown !== undefined) return;
    let partitions = this.flows.get(lag.flow);
    if (partitions === undefined) {
      partitions = new Map();
      this.flows.set(lag.flow, partitions);
    }
    for (const partition of lag.partitions) {
      partitions.set(`${partition.sourceTopic}\u0000${partition.partition}`, {
        ...partition,
        measuredAtMs: lag.time,
      });
    }
  }

  /** Every partition ever measured, ordered by topic and partition; undefined if none was. */
  get(flow: string): KnownPartitionLag[] | undefined {
    const partitions = this.flows.get(flow);
    if (partitions === undefined || partitions.size === 0) return undefined;
    return [...partitions.values()].sort((a, b) =>
      a.sourceTopic === b.sourceTopic
        ? a.partition - b.partition
        : a.sourceTopic < b.sourceTopic
          ? -1
          : 1,
    );
  }

  forget(flow: string): void {
    this.flows.delete(flow);
  }
}
