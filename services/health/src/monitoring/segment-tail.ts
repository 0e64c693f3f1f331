import { GEO_TOPICS } from "@geo/config";
import type { KafkaWireClient } from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import { decodeSegmentRecord, type OffsetMapSegment, unitId } from "@geo/progress";
import { applyRecord, type CompactedTail, createCompactedTail } from "./compacted-tail";

/**
 * The agents' offset-map segments in one target cluster (`__geo.offset-map`), kept current by
 * tailing the topic: which target offsets of each remote partition an agent wrote. Keeps what
 * compaction would keep (the last record per unit, epoch and first source offset).
 */
export interface SegmentTail extends CompactedTail {
  /** Every live segment of the unit (`flow/topic/partition`), every epoch, by target start. */
  segments(unit: string): readonly OffsetMapSegment[];
}

export function createSegmentTail(
  client: KafkaWireClient,
  options: { logger: Logger; topic?: string; maxWaitMs?: number },
): SegmentTail {
  /** unit id -> "epoch/sourceStart" -> segment */
  const units = new Map<string, Map<string, OffsetMapSegment>>();
  const sorted = new Map<string, readonly OffsetMapSegment[]>();
  const tail = createCompactedTail(client, {
    topic: options.topic ?? GEO_TOPICS.offsetMap,
    logger: options.logger,
    ...(options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs }),
    reset: () => {
      units.clear();
      sorted.clear();
    },
    apply(key, value) {
      const decoded = decodeSegmentRecord(key, value);
      const id = unitId(decoded.key.unit);
      sorted.delete(id);
      applyRecord(units, id, `${decoded.key.epoch}/${decoded.key.sourceStart}`, decoded.segment);
    },
  });
  return {
    ...tail,
    segments(unit) {
      let list = sorted.get(unit);
      if (list === undefined) {
        list = [...(units.get(unit)?.values() ?? [])].sort((a, b) =>
          a.targetStart < b.targetStart ? -1 : a.targetStart > b.targetStart ? 1 : 0,
        );
        sorted.set(unit, list);
      }
      return list;
    },
  };
}
