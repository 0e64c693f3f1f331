// The steps of a planned move between the lock and the flip that wait on the world: consumers
// leaving the old region, flows draining, and flows paused or resumed.
import type { FlowInfo, TransitionDependencies } from "./dependencies";
import { type StepRecorder, until } from "./step-recorder";
import type { Plan } from "./transition-plan";

type Deps = TransitionDependencies;

export async function waitConsumersLeft(
  deps: Deps,
  pollMs: number,
  p: Plan,
  steps: StepRecorder,
): Promise<void> {
  if (p.consumerGroups.length === 0) return;
  await steps.must(
    "wait-consumers",
    `consumer groups ${p.consumerGroups.join(", ")} left ${p.from.cluster}`,
    () =>
      until("consumers leaving", p.timeoutMs, pollMs, async () => {
        // A slow answer is not a refusal: keep asking until the drain timeout.
        const counts = await Promise.all(
          p.consumerGroups.map((g) => deps.consumers.members(p.from.cluster, g)),
        ).catch((error: Error) => error);
        if (counts instanceof Error) return { done: false, state: counts.message };
        const busy = p.consumerGroups.filter((_, i) => counts[i]! > 0);
        return busy.length === 0
          ? { done: true, detail: "no member left" }
          : { done: false, state: `members still in ${busy.join(", ")}` };
      }),
  );
}

export async function drain(
  deps: Deps,
  pollMs: number,
  p: Plan,
  steps: StepRecorder,
): Promise<void> {
  const drainStartedAtMs = Date.now();
  for (const flow of p.forward) {
    await steps.must("drain", `flow ${flow.name} caught up (lag 0)`, () =>
      until(`flow ${flow.name} draining`, p.timeoutMs, pollMs, async () => {
        // Only a lag measured after producers stopped proves the flow drained: the health
        // monitor samples every probe interval, and an older 0 misses the last writes.
        const lag = await deps.lag.flowLag(flow.name).catch((error: Error) => error);
        if (lag instanceof Error) return { done: false, state: lag.message };
        if (lag.measuredAtMs < drainStartedAtMs) {
          return { done: false, state: "waiting for a lag measured after the drain began" };
        }
        return lag.total === 0n
          ? { done: true, detail: "lag 0" }
          : { done: false, state: `${lag.total} records behind` };
      }),
    );
  }
}

export async function setFlows(
  deps: Deps,
  p: Plan,
  steps: StepRecorder,
  flows: readonly FlowInfo[],
  paused: boolean,
  done: FlowInfo[],
) {
  for (const flow of flows.filter((f) => f.paused !== paused)) {
    await steps.must(
      paused ? "pause-flow" : "resume-flow",
      `${paused ? "pause" : "resume"} flow ${flow.name}`,
      async () => {
        const why = `${p.request.kind} of ${p.group.name} to ${p.to.region}`;
        await (paused
          ? deps.flows.pause(flow.name, p.request.actor, why)
          : deps.flows.resume(flow.name, p.request.actor, why));
        done.push(flow);
        return paused ? "paused" : "resumed";
      },
    );
  }
}
