// The checks of a transition: those that can refuse it before the group's lock is taken (a drill
// records them all), and a failover's records at risk.
import type { TransitionDependencies } from "./dependencies";
import {
  assessRecordsAtRisk,
  describeRisk,
  type FailoverReport,
  totalAtRisk,
} from "./records-at-risk";
import type { StepRecorder } from "./step-recorder";
import type { Plan } from "./transition-plan";

type Deps = TransitionDependencies;

/** Checks a real transition must pass before it takes the lock; a drill records them all. */
export async function preflight(deps: Deps, p: Plan, steps: StepRecorder): Promise<void> {
  const run = p.request.dryRun ? steps.run : steps.must;
  await run("check-target", `${p.to.cluster} (${p.to.region}) answers`, async () => {
    const probe = await deps.probes.probe(p.to.cluster);
    if (!probe.reachable)
      throw new Error(`cluster ${p.to.cluster} is unreachable: ${probe.error ?? "no answer"}`);
    return "reachable";
  });
  await run("check-agents", `${p.to.region} has live agents`, async () => {
    const agents = await deps.agents.liveAgents(p.to.region);
    if (agents.length === 0) {
      throw new Error(
        `region ${p.to.region} has no live agent: start agents there before moving the active region to it`,
      );
    }
    return `${agents.length} live: ${agents.join(", ")}`;
  });
  if (p.request.kind === "failover") {
    await run(
      "check-source-down",
      `${p.from.cluster} (${p.from.region}) failed its probes`,
      async () => {
        const failures = deps.probes.consecutiveFailures(p.from.cluster);
        const needed = p.config.failoverAfterProbeFailures;
        if (failures >= needed) return `${failures} consecutive failed probes`;
        // A drill rehearses the failover of a healthy pair: the lost region is not lost yet.
        if (p.request.dryRun)
          return `${failures} of ${needed} failed probes now: a real failover waits for ${needed} (or force)`;
        if (p.request.force)
          return `only ${failures} of ${needed} failed probes; forced by the request`;
        throw new Error(
          `cluster ${p.from.cluster} failed ${failures} consecutive probes, fewer than the ${needed} flowGroups[].failoverAfterProbeFailures requires: it may still accept writes; use Switchover, or set force to fail over anyway`,
        );
      },
    );
  } else {
    await run("check-source", `${p.from.cluster} (${p.from.region}) answers`, async () => {
      const probe = await deps.probes.probe(p.from.cluster);
      if (!probe.reachable) {
        throw new Error(
          `cluster ${p.from.cluster} is unreachable (${probe.error ?? "no answer"}): a planned move needs it; use Failover`,
        );
      }
      return "reachable";
    });
  }
}

/** A failover's records at risk and checkpoint ages; never fails the failover. */
export async function recordsAtRisk(
  deps: Deps,
  p: Plan,
  steps: StepRecorder,
): Promise<FailoverReport> {
  let report: FailoverReport = {};
  await steps.run(
    "records-at-risk",
    "last known lag of the flows out of the lost region; checkpoint age per group",
    async () => {
      const found = await assessRecordsAtRisk(p.forward, p.consumerGroups, deps);
      // Unknown is an answer: the failover goes on, the report says the RPO is unknown.
      const known = found.unknownFlows.length === 0;
      report = {
        recordsAtRisk: found.risks,
        checkpointAges: found.checkpointAges,
        ...(known ? { rpoRecords: totalAtRisk(found.risks) } : {}),
      };
      return describeRisk(found, Date.now());
    },
  );
  return report;
}
