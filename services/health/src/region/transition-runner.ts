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
import type { FailoverReport } from "./records-at-risk";
import { createStepRecorder, StepFailed, type StepRecorder } from "./step-recorder";
import { preflight, recordsAtRisk } from "./transition-checks";
import { type Plan, planTransition, type TransitionRequest } from "./transition-plan";
import { drain, setFlows, waitConsumersLeft } from "./transition-steps";

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

interface RunnerContext {
  readonly store: RegionStore;
  readonly deps: TransitionDependencies;
  readonly logger: Logger;
  readonly pollMs: number;
}

export function createTransitionRunner(options: TransitionRunnerOptions): TransitionRunner {
  const { store, deps, logger } = options;
  const ctx: RunnerContext = { store, deps, logger, pollMs: options.pollIntervalMs ?? 500 };
  const configs = new Map(options.groupConfigs.map((config) => [config.name, config]));
  const drillContext: DrillContext = {
    store,
    deps,
    preflight: (p, steps) => preflight(deps, p, steps),
    recordsAtRisk: (p, steps) => recordsAtRisk(deps, p, steps),
    checkpointMaxAgeMs: options.checkpointMaxAgeMs ?? 60_000,
    lagIntervalMs: options.lagIntervalMs ?? 2000,
    pollIntervalMs: ctx.pollMs,
  };
  return {
    async run(request) {
      const p = await planTransition(request, store, deps, configs);
      if (!request.dryRun) return execute(ctx, p);
      const record = await runDrill(p, drillContext);
      return { state: await store.get(p.group.name), record };
    },
  };
}

async function execute(ctx: RunnerContext, p: Plan): Promise<TransitionResult> {
  const { store, logger } = ctx;
  const preflightSteps = createStepRecorder(undefined);
  try {
    await preflight(ctx.deps, p, preflightSteps);
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
    report = await runSteps(ctx, p, steps, paused, diverged);
  } catch (error) {
    return fail(ctx, p, id, steps, paused, error, diverged);
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
  ctx: RunnerContext,
  p: Plan,
  steps: StepRecorder,
  paused: FlowInfo[],
  diverged: DivergedRange[],
): Promise<FailoverReport> {
  const { deps, pollMs } = ctx;
  let report: FailoverReport = {};
  let forward = p.forward;
  if (p.request.kind === "failover") {
    report = await recordsAtRisk(deps, p, steps);
  } else {
    // Failback first reports what the returning region holds that never reached the other
    // one, then reverses the flow (it was paused by the failover) so it catches up.
    if (p.request.kind === "failback") {
      await reportDivergence(p, deps, steps, {
        pollMs,
        copy: p.request.copyDiverged ?? false,
        out: diverged,
        copied: await copiedEarlier(ctx.store, p),
      });
      await setFlows(deps, p, steps, forward, false, []);
      forward = forward.map((flow) => ({ ...flow, paused: false }));
    }
    await waitConsumersLeft(deps, pollMs, p, steps);
    await drain(deps, pollMs, p, steps);
  }
  await setFlows(deps, p, steps, forward, true, paused);
  await commitTranslatedOffsets(deps, p, steps, false);
  await commitOriginOffsets(deps, p, steps, false);
  if (p.request.kind !== "failover") await setFlows(deps, p, steps, p.reverse, false, []);
  // The keeper (protection-keeper.ts) takes the same lock: the two never change ACLs at once.
  await movePassiveProtection(p, steps, deps, {
    waitMs: ctx.store.protectionLockTtlMs,
    take: () =>
      ctx.store.takeProtectionLock(p.group.name, { waitMs: ctx.store.protectionLockTtlMs }),
  });
  return report;
}

/**
 * Any failure after the lock: resume what this transition paused and end it without moving
 * the active region. Only when the lock itself is gone (another service took the group) is
 * the error passed on.
 */
async function fail(
  { deps, store, logger }: RunnerContext,
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
    deps,
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
