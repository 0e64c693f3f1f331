// Failback translation: a group's position on a flow's REMOTE topic (in the flow's target) back
// to the ORIGIN topic it copies (in the flow's source), MirrorMaker 2's "remote topics go home".
import { Code, GeoError } from "@geo/grpc";
import { NO_OFFSET } from "@geo/positions";
import { ErrorReason, offsetsV1 } from "@geo/proto";
import type { ClusterGroups } from "./cluster-groups";
import type { OffsetsFlow } from "./flows";
import type { OffsetIndex } from "./offset-index";
import type { GroupTranslation } from "./offsets-core";
import type { SourcePosition, Translation } from "./translate";

const Kind = offsetsV1.TranslationKind;

/**
 * Maps one position on a remote topic of `flow` back to its origin. The answer reads the other
 * way round from `translatePosition`: `sourceTopic`/`sourceOffset` are the remote topic and the
 * group's offset on it in the flow's target; `targetTopic`/`targetOffset` are the origin topic
 * and the offset to commit in the flow's source.
 */
export function originPosition(
  index: OffsetIndex,
  flow: OffsetsFlow,
  position: SourcePosition,
): Translation {
  const origin = flow.sourceTopicOf(position.topic);
  const base = {
    sourceTopic: position.topic,
    partition: position.partition,
    sourceOffset: position.offset,
    targetTopic: origin ?? "",
    metadata: position.metadata,
    recordsNotReplicated: 0n,
  };
  if (origin === undefined || !flow.replicates(origin)) {
    return {
      ...base,
      targetOffset: NO_OFFSET,
      exact: false,
      kind: Kind.NOT_REPLICATED,
      reason: `"${position.topic}" is not a remote topic of flow "${flow.name}"`,
    };
  }
  const map = index.get({ flow: flow.name, sourceTopic: origin, partition: position.partition });
  const answer = map?.toOrigin(position.offset) ?? { kind: "empty" as const };
  if (answer.kind === "empty") {
    return {
      ...base,
      targetOffset: NO_OFFSET,
      exact: false,
      kind: Kind.NOT_YET_REPLICATED,
      reason: `nothing of ${origin}-${position.partition} has been replicated into ${position.topic} yet`,
    };
  }
  return {
    ...base,
    targetOffset: answer.sourceOffset,
    exact: true,
    kind: answer.kind === "exact" ? Kind.EXACT : Kind.AT_REPLICATED_END,
    reason: "",
  };
}

/**
 * The group's committed offsets on the flow's remote topics in its target, mapped home.
 * `topics` names origin topics (the flow's source topics); empty for all.
 */
export async function originGroup(
  deps: { index: OffsetIndex; groups: ClusterGroups },
  flow: OffsetsFlow,
  group: string,
  topics: readonly string[],
): Promise<GroupTranslation> {
  const wanted = (remote: string) => {
    const origin = flow.sourceTopicOf(remote);
    return (
      origin !== undefined &&
      flow.replicates(origin) &&
      (topics.length === 0 || topics.includes(origin))
    );
  };
  const positions = (await deps.groups.committedOffsets(flow.target, group)).filter((p) =>
    wanted(p.topic),
  );
  if (positions.length === 0) {
    throw new GeoError(
      Code.NOT_FOUND,
      `group "${group}" has no committed offsets in cluster "${flow.target}" on remote topics of flow "${flow.name}"${topics.length > 0 ? ` (asked for: ${topics.join(", ")})` : ""}`,
      { reason: ErrorReason.NO_COMMITTED_OFFSETS, details: { group, cluster: flow.target } },
    );
  }
  return {
    translations: positions.map((p) => originPosition(deps.index, flow, p)),
    readTime: Date.now(),
    fromCheckpoints: false,
    checkpointAgeMs: 0,
  };
}
