import { NO_OFFSET, type Offset, offsetToProto } from "@geo/positions";
import { offsetsV1 } from "@geo/proto";
import type { OffsetsFlow } from "./flows";
import type { OffsetIndex } from "./offset-index";

const Kind = offsetsV1.TranslationKind;

/** One source position to translate, with the commit metadata to carry over. */
export interface SourcePosition {
  topic: string;
  partition: number;
  offset: Offset;
  metadata: string;
}

/** A translation, with 64-bit numbers as bigint (the handlers turn it into protobuf). */
export interface Translation {
  sourceTopic: string;
  partition: number;
  sourceOffset: Offset;
  targetTopic: string;
  /** NO_OFFSET when untranslatable. */
  targetOffset: Offset;
  exact: boolean;
  kind: offsetsV1.TranslationKind;
  reason: string;
  recordsNotReplicated: bigint;
  metadata: string;
}

/**
 * Translates one position of `flow` from the index (target-side data only). Never a guess
 * presented as exact: BELOW_RANGE, NOT_YET_REPLICATED and NOT_REPLICATED say why.
 */
export function translatePosition(
  index: OffsetIndex,
  flow: OffsetsFlow,
  position: SourcePosition,
): Translation {
  const base = {
    sourceTopic: position.topic,
    partition: position.partition,
    sourceOffset: position.offset,
    targetTopic: flow.replicates(position.topic) ? flow.remoteTopic(position.topic) : "",
    metadata: position.metadata,
    recordsNotReplicated: 0n,
  };
  const fail = (
    kind: offsetsV1.TranslationKind,
    reason: string,
    targetOffset: Offset = NO_OFFSET,
  ) => ({
    ...base,
    targetOffset,
    exact: false,
    kind,
    reason,
  });
  if (!flow.replicates(position.topic)) {
    return fail(
      Kind.NOT_REPLICATED,
      `flow "${flow.name}" does not replicate topic "${position.topic}" (internal, or outside its topic filter)`,
    );
  }
  const map = index.get({
    flow: flow.name,
    sourceTopic: position.topic,
    partition: position.partition,
  });
  const answer = map?.translate(position.offset) ?? { kind: "empty" as const };
  const ok = (kind: offsetsV1.TranslationKind, targetOffset: Offset) => ({
    ...base,
    targetOffset,
    exact: true,
    kind,
    reason: "",
  });
  switch (answer.kind) {
    case "exact":
      return ok(Kind.EXACT, answer.targetOffset);
    case "end":
      return ok(Kind.AT_REPLICATED_END, answer.targetOffset);
    case "leading-gap":
      if (flow.startsAtEarliest) return ok(Kind.EXACT, answer.targetOffset);
      return fail(
        Kind.BELOW_RANGE,
        `replication of ${position.topic}-${position.partition} started at source offset ${answer.firstMapped} (startFrom: latest); records before it were never copied`,
        answer.targetOffset,
      );
    case "below":
      return fail(
        Kind.BELOW_RANGE,
        `source offsets below ${answer.floor} of ${position.topic}-${position.partition} were deleted by retention; resuming at the earliest mapped target offset loses the records between`,
        answer.targetOffset,
      );
    case "ahead":
      return {
        ...fail(
          Kind.NOT_YET_REPLICATED,
          `${answer.notReplicated} source offsets between ${answer.replicatedTo} and ${position.offset} are not replicated yet; the target offset is the replicated end, so resuming there re-delivers them once they arrive and skips nothing`,
          answer.targetOffset,
        ),
        recordsNotReplicated: answer.notReplicated,
      };
    case "empty":
      return fail(
        Kind.NOT_YET_REPLICATED,
        `nothing of ${position.topic}-${position.partition} has been replicated yet (unknown partition, or the flow has not copied it)`,
      );
  }
}

/** Whether resuming at the translation neither re-delivers nor skips. */
export function isCommittable(t: Translation): boolean {
  return t.exact && t.targetOffset >= 0n;
}

export function translationMessage(t: Translation): offsetsV1.TranslatedOffset {
  return {
    $typeName: "geo.offsets.v1.TranslatedOffset",
    sourceTopic: t.sourceTopic,
    partition: t.partition,
    sourceOffset: offsetToProto(t.sourceOffset),
    targetTopic: t.targetTopic,
    targetOffset: offsetToProto(t.targetOffset),
    exact: t.exact,
    kind: t.kind,
    reason: t.reason,
    recordsNotReplicated: t.recordsNotReplicated.toString(),
    metadata: t.metadata,
  };
}
