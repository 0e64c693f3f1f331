import { Code, GeoError } from "@geo/grpc";
import { commitGroupOffsets, kafkaErrorName } from "@geo/kafka-wire";
import { NO_OFFSET, type Offset } from "@geo/positions";
import type { ClusterGroups } from "./cluster-groups";
import type { OffsetsFlow } from "./flows";
import type { TargetReaders } from "./target-readers";
import { isCommittable, type Translation } from "./translate";

/** What happened to one partition of a commit. */
export interface CommitOutcome {
  translation: Translation;
  /** NO_OFFSET when the group had none. */
  previousTargetOffset: Offset;
  committed: boolean;
  reason: string;
}

/**
 * Commits translated offsets into the same group in the flow's target, only where it moves the
 * group forward and only while the group has no members there (FAILED_PRECONDITION otherwise:
 * the broker would let active members overwrite the commit). Commit metadata is carried over.
 * `into` is the cluster committed in: the flow's target, or its source when mapping home.
 */
export async function commitTranslations(
  flow: OffsetsFlow,
  group: string,
  translations: readonly Translation[],
  deps: { groups: ClusterGroups; targets: TargetReaders },
  dryRun: boolean,
  into: string = flow.target,
): Promise<CommitOutcome[]> {
  const state = (await deps.groups.describe(into, [group])).get(group);
  if (state !== undefined && state.members > 0) {
    throw new GeoError(
      Code.FAILED_PRECONDITION,
      `group "${group}" has ${state.members} active member(s) in cluster "${into}" (state ${state.state}); stop its consumers there first, since they would overwrite the commit`,
      { details: { group, cluster: into, members: state.members } },
    );
  }
  const previous = new Map<string, Offset>();
  for (const p of await deps.groups.committedOffsets(into, group)) {
    previous.set(`${p.topic}\u0000${p.partition}`, p.offset);
  }
  const outcomes = translations.map((t) => {
    const before = previous.get(`${t.targetTopic}\u0000${t.partition}`) ?? NO_OFFSET;
    const outcome = { translation: t, previousTargetOffset: before, committed: false, reason: "" };
    if (!isCommittable(t)) outcome.reason = `not exact: ${t.reason}`;
    else if (before >= t.targetOffset) {
      outcome.reason =
        before === t.targetOffset
          ? "the target group is already at this offset"
          : `the target group is already ahead (${before}); offsets never move backwards`;
    } else outcome.committed = true;
    return outcome;
  });
  const toCommit = outcomes.filter((o) => o.committed);
  if (dryRun || toCommit.length === 0) return outcomes;
  const client = deps.targets.client(into) ?? deps.groups.wire(into);
  const results = await commitGroupOffsets(
    client,
    group,
    toCommit.map((o) => ({
      topic: o.translation.targetTopic,
      partition: o.translation.partition,
      offset: o.translation.targetOffset,
      metadata: o.translation.metadata,
    })),
  );
  for (const r of results) {
    if (r.errorCode === 0) continue;
    const o = toCommit.find(
      (c) => c.translation.targetTopic === r.topic && c.translation.partition === r.partition,
    );
    if (o === undefined) continue;
    o.committed = false;
    o.reason = `the broker refused the commit: ${kafkaErrorName(r.errorCode)}`;
  }
  return outcomes;
}
