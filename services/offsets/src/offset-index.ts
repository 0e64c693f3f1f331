import { asOffset, type Epoch, type Offset } from "@geo/positions";
import type { OffsetMapSegment, SegmentKey, UnitKey } from "@geo/progress";
import { parseUnitId, unitId } from "@geo/progress";
import { PartitionMap } from "./partition-map";

/** Figures for metrics and logs. */
export interface IndexStats {
  partitions: number;
  runs: number;
  segmentRecords: number;
}

/**
 * Every replicated partition's offset map known from the target clusters' `__geo.offset-map`
 * and `__geo.progress` topics, keyed by unit id (`flow/topic/partition`). Pure: the tailer feeds
 * it records in log order.
 */
export class OffsetIndex {
  private readonly maps = new Map<string, PartitionMap>();
  private segmentRecords = 0;

  get(unit: UnitKey): PartitionMap | undefined {
    return this.maps.get(unitId(unit));
  }

  /** Source topics of a flow that have a map. */
  topicsOf(flow: string): string[] {
    const topics = new Set<string>();
    for (const id of this.maps.keys()) {
      const unit = parseUnitId(id);
      if (unit.flow === flow) topics.add(unit.sourceTopic);
    }
    return [...topics];
  }

  /** Whether anything of the flow has been mapped. */
  hasFlow(flow: string): boolean {
    for (const [id, map] of this.maps) {
      if (map.runs.length > 0 && parseUnitId(id).flow === flow) return true;
    }
    return false;
  }

  addSegment(segment: OffsetMapSegment): void {
    this.segmentRecords++;
    this.mapOf(segment.unit).addSegment(segment);
  }

  /**
   * Agents tombstone a segment only once it lies entirely below its source partition's log
   * start, so everything up to its first offset is gone from the source.
   */
  removeSegment(key: SegmentKey): void {
    this.segmentRecords++;
    this.maps.get(unitId(key.unit))?.prune(asOffset(key.sourceStart + 1n));
  }

  addProgress(unit: UnitKey, epoch: Epoch, nextSourceOffset: Offset): void {
    this.mapOf(unit).addProgress(epoch, nextSourceOffset);
  }

  /** Prunes a partition below its source's log start (when the source is reachable). */
  prune(unit: UnitKey, logStartOffset: Offset): void {
    this.maps.get(unitId(unit))?.prune(logStartOffset);
  }

  stats(): IndexStats {
    let runs = 0;
    for (const map of this.maps.values()) runs += map.runs.length;
    return { partitions: this.maps.size, runs, segmentRecords: this.segmentRecords };
  }

  private mapOf(unit: UnitKey): PartitionMap {
    const id = unitId(unit);
    let map = this.maps.get(id);
    if (map === undefined) {
      map = new PartitionMap();
      this.maps.set(id, map);
    }
    return map;
  }
}
