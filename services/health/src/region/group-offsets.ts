// The consumer groups' positions in a transition: translated over the forward flows (X→Y) into
// the region that becomes active, and, for remote topics, back home ("remote topics go home", as
// MirrorMaker 2 users expect): while active in X the group read Y's topics as X's remote copies
// (`Y.topic`); moving to Y, its position on those copies is mapped back to Y's own topics, so it
// neither re-reads nor skips what it already read of them in X.
import type { CommitResult, FlowInfo, TransitionDependencies } from "./dependencies";
import { type StepOutcome, type StepRecorder, skipped } from "./step-recorder";
import type { Plan } from "./transition-plan";

/**
 * A group without committed offsets on a flow's topics never consumed them (or, after a
 * failover, consumed the returning region's remote topics, which the reversed flow does not
 * replicate): nothing to translate, so its step is skipped and the transition goes on.
 */
export const nothingToCommit = (noOffsets: string): StepOutcome =>
  skipped(`nothing to commit: ${noOffsets}`);

type Deps = Pick<TransitionDependencies, "offsets">;

/** One step per forward flow and group: CommitTranslatedOffsets (a check when `dryRun`). */
export async function commitTranslatedOffsets(
  deps: Deps,
  p: Plan,
  steps: StepRecorder,
  dryRun: boolean,
): Promise<void> {
  await commitEach(deps, p, steps, dryRun, {
    step: "commit-offsets",
    flows: p.forward,
    toOrigin: false,
    describe: (group, flow) =>
      `${dryRun ? "check translation of" : "commit translated offsets of"} group ${group} over ${flow.name}`,
    summary: (result) => {
      const pending = result.notReplicatedRecords ?? 0n;
      return `${result.committed} partitions ${dryRun ? "translate exactly" : "committed"}${
        pending > 0n
          ? `; ${pending} records the group read are not replicated yet (a switchover drains them first; a failover now would lose them)`
          : ""
      }`;
    },
  });
}

/**
 * One step per reverse flow (Y→X) and group: CommitTranslatedOffsets with `to_origin`. Skipped in
 * a failover: the group's offsets live in the old region's cluster, which is presumed down (the
 * failback, once it is back, brings them home).
 */
export async function commitOriginOffsets(
  deps: Deps,
  p: Plan,
  steps: StepRecorder,
  dryRun: boolean,
): Promise<void> {
  if (p.request.kind === "failover") return;
  await commitEach(deps, p, steps, dryRun, {
    step: "commit-origin-offsets",
    flows: p.reverse,
    toOrigin: true,
    describe: (group, flow) =>
      `${dryRun ? "check" : "commit"} group ${group}'s offsets on the remote topics of ${flow.name} back to their origin in ${flow.source}`,
    summary: (result) =>
      `${result.committed} partitions ${dryRun ? "map home exactly" : "committed on their origin topics"}`,
  });
}

export interface CommitSteps {
  readonly step: string;
  readonly flows: readonly FlowInfo[];
  readonly toOrigin: boolean;
  describe(group: string, flow: FlowInfo): string;
  summary(result: CommitResult, group: string): string;
  /** Called for a group that never committed on the flow's topics (its step is skipped). */
  onNothingToCommit?(group: string, flow: FlowInfo): void;
}

/**
 * One step per flow of `spec` and consumer group of the plan. A group that cannot be committed
 * exactly fails its step (and, unless a dry run, the move).
 */
export async function commitEach(
  deps: Deps,
  p: Plan,
  steps: StepRecorder,
  dryRun: boolean,
  spec: CommitSteps,
): Promise<void> {
  const run = dryRun ? steps.run : steps.must;
  for (const flow of spec.flows) {
    for (const group of p.consumerGroups) {
      await run(spec.step, spec.describe(group, flow), async () => {
        const result = await deps.offsets.commit({
          flow: flow.name,
          group,
          dryRun,
          actor: p.request.actor,
          ...(spec.toOrigin ? { toOrigin: true } : {}),
        });
        if (result.problems.length > 0) {
          throw new Error(`not exact: ${result.problems.join("; ")} (group ${group})`);
        }
        if (result.noOffsets !== undefined) {
          spec.onNothingToCommit?.(group, flow);
          return nothingToCommit(result.noOffsets);
        }
        return spec.summary(result, group);
      });
    }
  }
}
