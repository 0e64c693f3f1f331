// Switchover, failover, failback and their dry runs (drills), as one state machine over injected
// dependencies. Every check that can refuse a request runs before the group's lock is taken, so
// a refused request changes nothing; after that each step is recorded in the lock and a failed
// step undoes what was paused and ends the transition without moving the active region.
import type { FlowGroupConfig } from "@geo/config";
import { Code, GeoError } from "@geo/grpc";
import type { Logger } from "@geo/logging";
import type {
  DivergedRange,
  RegionPhase,
  RegionState,
  RegionStore,
  TransitionKind,
  TransitionRecord,
} from "@geo/region-state";
import type { FlowInfo, TransitionDependencies } from "./dependencies";
import { copiedEarlier, reportDivergence } from "./divergence";
import { type DrillContext, runDrill } from "./drill";
import { commitOriginOffsets, commitTranslatedOffsets } from "./group-offsets";
import { movePassiveProtection } from "./passive-acls";
import {
  assessRecordsAtRisk,
  describeRisk,
  type FailoverReport,
  totalAtRisk,
} from "./records-at-risk";
import { createStepRecorder, StepFailed, type StepRecorder, until } from "./step-recorder";
import { type Plan, planTransition, type TransitionRequest } from "./transition-plan";

export type { TransitionRequest } from "./transition-plan";

export interface TransitionResult {
  readonly state: RegionState;
  readonly record: TransitionRecord;
}

export interface TransitionRunnerOptions {
  readonly store: RegionStore;
  readonly deps: TransitionDependencies;
  readonly groupConfigs: readonly FlowGroupConfig[];
  readonly logger: Logger;
  /** Interval of lag and consumer polls. Default 500 ms. */
  readonly pollIntervalMs?: number;
  /** A drill finds checkpoints older than this stale. Default 60 s. */
  readonly checkpointMaxAgeMs?: number;
  /** How often the health monitor measures lag (a drill's RTO estimate). Default 2000 ms. */
  readonly lagIntervalMs?: number;
}

const RUNNING_PHASE: Record<TransitionKind, RegionPhase> = {
  switchover: "switching-over",
  failover: "failing-over",
  failback: "failing-back",
};

export interface TransitionRunner {
  run(request: TransitionRequest): Promise<TransitionResult>;
}

export function createTransitionRunner(options: TransitionRunnerOptions): TransitionRunner {
  const { store, deps, logger } = options;
  const pollMs = options.pollIntervalMs ?? 500;
  const configs = new Map(options.groupConfigs.map((config) => [config.name, config]));

  /** Checks a real transition must pass before it takes the lock; a drill records them all. */
  async function preflight(p: Plan, steps: StepRecorder): Promise<void> {
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

  async function waitConsumersLeft(p: Plan, steps: StepRecorder): Promise<void> {
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

  async function drain(p: Plan, steps: StepRecorder): Promise<void> {
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

  /** A failover's records at risk and checkpoint ages; never fails the failover. */
  async function recordsAtRisk(p: Plan, steps: StepRecorder): Promise<FailoverReport> {
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

  async function commitOffsets(p: Plan, steps: StepRecorder, dryRun: boolean): Promise<void> {
    await commitTranslatedOffsets(deps, p, steps, dryRun);
    await commitOriginOffsets(deps, p, steps, dryRun);
  }

  async function setFlows(
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

  async function execute(p: Plan): Promise<TransitionResult> {
    const preflightSteps = createStepRecorder(undefined);
    try {
      await preflight(p, preflightSteps);
    } catch (error) {
      if (!(error instanceof StepFailed)) throw error;
      throw new GeoError(
        Code.FAILED_PRECONDITION,
        `${p.request.kind} refused, nothing changed: ${preflightSteps.error}`,
      );
    }
    const locked = await store.begin(
      { ...p.request, flowGroup: p.group.name, toRegion: p.to.region },
      RUNNING_PHASE[p.request.kind],
    );
    const id = locked.transition!.id;
    const lockStart = performance.now();
    const steps = createStepRecorder({ store, flowGroup: p.group.name, id });
    for (const step of preflightSteps.steps) await store.step(p.group.name, id, step);
    steps.steps.push(...preflightSteps.steps);
    const paused: FlowInfo[] = [];
    let report: FailoverReport;
    const diverged: DivergedRange[] = [];
    try {
      report = await runSteps(p, steps, paused, diverged);
    } catch (error) {
      return fail(p, id, steps, paused, error, diverged);
    }
    const result = await store.finish(p.group.name, id, {
      outcome: "succeeded",
      flip: true,
      phase: p.request.kind === "failover" ? "failed-over" : "stable",
      rtoMs: Math.round(performance.now() - lockStart),
      // A drained switchover or failback loses nothing; a failover loses what was at risk.
      ...(p.request.kind !== "failover" ? { rpoRecords: 0n } : {}),
      ...report,
      ...(p.request.kind === "failback" ? { diverged } : {}),
    });
    logger.info(
      {
        flowGroup: p.group.name,
        transition: id,
        activeRegion: result.state.activeRegion,
        epoch: result.state.epoch,
        rtoMs: result.record.rtoMs,
      },
      `${p.request.kind} done`,
    );
    return result;
  }

  /** The steps between taking the lock and the flip; returns a failover's records at risk. */
  async function runSteps(
    p: Plan,
    steps: StepRecorder,
    paused: FlowInfo[],
    diverged: DivergedRange[],
  ): Promise<FailoverReport> {
    let report: FailoverReport = {};
    let forward = p.forward;
    if (p.request.kind === "failover") {
      report = await recordsAtRisk(p, steps);
    } else {
      // Failback first reports what the returning region holds that never reached the other
      // one, then reverses the flow (it was paused by the failover) so it catches up.
      if (p.request.kind === "failback") {
        await reportDivergence(p, deps, steps, {
          pollMs,
          copy: p.request.copyDiverged ?? false,
          out: diverged,
          copied: await copiedEarlier(store, p),
        });
        await setFlows(p, steps, forward, false, []);
        forward = forward.map((flow) => ({ ...flow, paused: false }));
      }
      await waitConsumersLeft(p, steps);
      await drain(p, steps);
    }
    await setFlows(p, steps, forward, true, paused);
    await commitOffsets(p, steps, false);
    if (p.request.kind !== "failover") await setFlows(p, steps, p.reverse, false, []);
    await movePassiveProtection(p, steps, deps);
    return report;
  }

  /**
   * Any failure after the lock: resume what this transition paused and end it without moving
   * the active region. Only when the lock itself is gone (another service took the group) is
   * the error passed on.
   */
  async function fail(
    p: Plan,
    id: string,
    steps: StepRecorder,
    paused: readonly FlowInfo[],
    error: unknown,
    diverged: readonly DivergedRange[],
  ): Promise<TransitionResult> {
    const reason =
      error instanceof StepFailed ? (steps.error ?? error.message) : GeoError.from(error).message;
    await setFlows(
      p,
      steps,
      paused.map((f) => ({ ...f, paused: true })),
      false,
      [],
    ).catch(() => undefined);
    const { state, record } = await store
      .finish(p.group.name, id, {
        outcome: "failed",
        flip: false,
        error: reason,
        // Diverged records found before the failure stay on the record.
        ...(diverged.length > 0 ? { diverged } : {}),
      })
      .catch(() => {
        throw error;
      });
    logger.warn(
      { flowGroup: p.group.name, transition: id, err: record.error },
      `${p.request.kind} failed; the active region did not move`,
    );
    return { state, record };
  }

  const drillContext: DrillContext = {
    store,
    deps,
    preflight,
    recordsAtRisk,
    checkpointMaxAgeMs: options.checkpointMaxAgeMs ?? 60_000,
    lagIntervalMs: options.lagIntervalMs ?? 2000,
    pollIntervalMs: pollMs,
  };

  return {
    async run(request) {
      const p = await planTransition(request, store, deps, configs);
      if (!request.dryRun) return execute(p);
      const record = await runDrill(p, drillContext);
      return { state: await store.get(p.group.name), record };
    },
  };
}
