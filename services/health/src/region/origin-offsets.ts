// Failback of consumer positions on remote topics ("remote topics go home", as MirrorMaker 2
// users expect): while active in X the group read Y's topics as X's remote copies (`Y.topic`);
// moving to Y, its position on those copies is mapped back to Y's own topics, so it neither
// re-reads nor skips what it already read of them in X.
import type { TransitionDependencies } from "./dependencies";
import { type StepOutcome, type StepRecorder, skipped } from "./step-recorder";
import type { Plan } from "./transition-plan";

/**
 * A group without committed offsets on a flow's topics never consumed them (or, after a
 * failover, consumed the returning region's remote topics, which the reversed flow does not
 * replicate): nothing to translate, so its step is skipped and the transition goes on.
 */
export const nothingToCommit = (noOffsets: string): StepOutcome =>
  skipped(`nothing to commit: ${noOffsets}`);

/**
 * One step per reverse flow (Y→X) and group: CommitTranslatedOffsets with `to_origin`. Skipped in
 * a failover: the group's offsets live in the old region's cluster, which is presumed down (the
 * failback, once it is back, brings them home).
 */
export async function commitOriginOffsets(
  deps: Pick<TransitionDependencies, "offsets">,
  p: Plan,
  steps: StepRecorder,
  dryRun: boolean,
): Promise<void> {
  if (p.request.kind === "failover") return;
  const run = dryRun ? steps.run : steps.must;
  for (const flow of p.reverse) {
    for (const group of p.consumerGroups) {
      await run(
        "commit-origin-offsets",
        `${dryRun ? "check" : "commit"} group ${group}'s offsets on the remote topics of ${flow.name} back to their origin in ${flow.source}`,
        async () => {
          const result = await deps.offsets.commit({
            flow: flow.name,
            group,
            dryRun,
            actor: p.request.actor,
            toOrigin: true,
          });
          if (result.problems.length > 0)
            throw new Error(`not exact: ${result.problems.join("; ")}`);
          if (result.noOffsets !== undefined) return nothingToCommit(result.noOffsets);
          return `${result.committed} partitions ${dryRun ? "map home exactly" : "committed on their origin topics"}`;
        },
      );
    }
  }
}
