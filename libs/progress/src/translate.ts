import { asOffset, type Offset } from "@geo/positions";
import type { OffsetMapSegment } from "./unit";

/**
 * Where a consumer whose next source offset is `sourceOffset` resumes in the target, from one
 * unit's segments (the rule the offset-translation service applies):
 * 1. a segment covers it: target = targetStart + (sourceOffset - sourceStart); when several do
 *    (records copied again after a takeover or a restart), the newest copy wins: highest epoch,
 *    then the latest sourceStart within an epoch;
 * 2. it falls in a gap (aborted, control, compacted or loop-skipped records): the start of the
 *    next mapped record, so nothing after the committed position is skipped;
 * 3. it is the end of the mapped range: the target offset after the last mapped record.
 * Undefined when the offset lies outside every segment and after all of them but the end.
 */
export function translateOffset(
  segments: readonly OffsetMapSegment[],
  sourceOffset: Offset,
): Offset | undefined {
  let covering: OffsetMapSegment | undefined;
  let next: OffsetMapSegment | undefined;
  let endsHere: OffsetMapSegment | undefined;
  for (const s of segments) {
    const end = s.sourceStart + s.count;
    if (s.sourceStart <= sourceOffset && sourceOffset < end) {
      if (
        covering === undefined ||
        s.epoch > covering.epoch ||
        (s.epoch === covering.epoch && s.sourceStart > covering.sourceStart)
      ) {
        covering = s;
      }
    } else if (s.sourceStart > sourceOffset) {
      if (
        next === undefined ||
        s.sourceStart < next.sourceStart ||
        (s.sourceStart === next.sourceStart && s.epoch > next.epoch)
      ) {
        next = s;
      }
    } else if (end === sourceOffset) {
      if (endsHere === undefined || s.epoch > endsHere.epoch) endsHere = s;
    }
  }
  if (covering !== undefined) {
    return asOffset(covering.targetStart + (sourceOffset - covering.sourceStart));
  }
  if (next !== undefined) return next.targetStart;
  if (endsHere !== undefined) return asOffset(endsHere.targetStart + endsHere.count);
  return undefined;
}
