// A change to an existing remote topic (more partitions, new configs), applied one after the other
// on one admin connection; a change that fails becomes a problem of its flow, the others go on.
import type { Admin } from "@geo/kafka";
import type { RemoteTopicPlan, TargetContext } from "./target-plan";
import { errorMessage } from "./topic-admin";

export interface TopicChange {
  readonly plan: RemoteTopicPlan;
  readonly run: (client: Admin) => Promise<void>;
  /** Called after `run` succeeded (records and logs the change). */
  readonly done: () => void;
}

export async function applyTopicChanges(
  context: TargetContext,
  changes: readonly TopicChange[],
): Promise<void> {
  if (changes.length === 0 || context.isStopped()) return;
  await context.cluster.use(
    async (client) => {
      for (const change of changes) {
        try {
          await change.run(client);
          change.done();
        } catch (error) {
          context.problem(
            change.plan.flow.name,
            `could not update remote topic ${change.plan.remoteTopic} on ${context.alias}: ${errorMessage(error)}`,
          );
        }
      }
    },
    10_000 + 1000 * changes.length,
  );
}
