// A DR drill: Switchover or Failover with dry_run. It moves nothing and runs every check a real
// transition would (records each failure instead of stopping at it), reads the passive
// protection of both regions (protection-check.ts), then proves per consumer
// group that the group could resume exactly in the new region (translation exact) from fresh
// positions (the checkpoints a failover would use), and estimates the RTO and RPO. The report
// is kept in the group's history like a transition's.
import type { RegionStore, TransitionRecord } from "@geo/region-state";
import type { TransitionDependencies } from "./dependencies";
import { commitEach, commitOriginOffsets } from "./group-offsets";
import { checkPassiveProtection } from "./protection-check";
import type { FailoverReport } from "./records-at-risk";
import { createStepRecorder, type StepRecorder, skipped } from "./step-recorder";
import type { Plan } from "./transition-plan";

export interface DrillContext {
  readonly store: RegionStore;
  readonly deps: TransitionDependencies;
  /** The checks a real transition runs before taking the lock. */
  readonly preflight: (p: Plan, steps: StepRecorder) => Promise<void>;
  /** A failover's records at risk and checkpoint ages (rpoRecords undefined when unknown). */
  readonly recordsAtRisk: (p: Plan, steps: StepRecorder) => Promise<FailoverReport>;
  /** Checkpoints older than this are stale: a failover would re-deliver more than it should. */
  readonly checkpointMaxAgeMs: number;
  /** How often the flows' lag is measured: a drain waits up to this for a fresh 0. */
  readonly lagIntervalMs: number;
  readonly pollIntervalMs: number;
}

export async function runDrill(p: Plan, context: DrillContext): Promise<TransitionRecord> {
  const steps = createStepRecorder(undefined);
  const startTimeMs = Date.now();
  await context.preflight(p, steps);
  const passiveProtection = await checkPassiveProtection(p, steps, context.deps);
  let report: FailoverReport = { rpoRecords: 0n };
  if (p.request.kind === "failover") report = await context.recordsAtRisk(p, steps);
  // `flow/group` pairs without committed offsets: nothing to translate, so no checkpoint to need.
  const withoutOffsets = new Set<string>();
  const translationMs = await checkTranslations(p, steps, context, withoutOffsets);
  await checkCheckpoints(p, steps, context, withoutOffsets);
  const rtoMs = await expectedRto(p, steps, context, translationMs);
  const passed = steps.steps.every((s) => s.ok);
  return context.store.recordDrill({
    id: `drill-${startTimeMs}-${Math.random().toString(36).slice(2, 8)}`,
    flowGroup: p.group.name,
    kind: p.request.kind,
    fromRegion: p.from.region,
    toRegion: p.to.region,
    actor: p.request.actor,
    reason: p.request.reason,
    startTimeMs,
    epochBefore: p.state.epoch,
    dryRun: true,
    outcome: passed ? "drill-passed" : "drill-failed",
    epochAfter: p.state.epoch,
    steps: steps.steps,
    rtoMs,
    ...(report.rpoRecords === undefined ? {} : { rpoRecords: String(report.rpoRecords) }),
    ...(report.recordsAtRisk === undefined ? {} : { recordsAtRisk: report.recordsAtRisk }),
    ...(report.checkpointAges === undefined ? {} : { checkpointAges: report.checkpointAges }),
    passiveProtection,
    ...(steps.error === undefined ? {} : { error: steps.error }),
  });
}

/** Every group over every flow translates exactly; returns how long the translations took. */
async function checkTranslations(
  p: Plan,
  steps: StepRecorder,
  { deps }: DrillContext,
  withoutOffsets: Set<string>,
): Promise<number> {
  const started = performance.now();
  await commitEach(deps, p, steps, true, {
    step: "commit-offsets",
    flows: p.forward,
    toOrigin: false,
    describe: (group, flow) => `check translation of group ${group} over ${flow.name}`,
    summary: (result, group) => {
      const pending = result.notReplicatedRecords ?? 0n;
      return `group ${group}: ${result.committed} partitions translate exactly into ${p.to.cluster}${
        pending > 0n
          ? `; ${pending} records it read are not replicated yet (a switchover drains them first; a failover now would lose them)`
          : ""
      }`;
    },
    onNothingToCommit: (group, flow) => withoutOffsets.add(`${flow.name}/${group}`),
  });
  // Positions on the other region's remote copies go home too (switchover and failback).
  await commitOriginOffsets(deps, p, steps, true);
  return performance.now() - started;
}

/**
 * The checkpoints a failover resumes each group from (its source is gone then): present, exact
 * and fresh. A switchover reads live positions, so for it they are reported, not required.
 */
async function checkCheckpoints(
  p: Plan,
  steps: StepRecorder,
  { deps, checkpointMaxAgeMs }: DrillContext,
  withoutOffsets: ReadonlySet<string>,
): Promise<void> {
  const required = p.request.kind === "failover";
  for (const flow of p.forward) {
    for (const group of p.consumerGroups) {
      await steps.run(
        "check-checkpoints",
        `checkpoints of group ${group} over ${flow.name} exact and fresh`,
        async () => {
          if (withoutOffsets.has(`${flow.name}/${group}`))
            return skipped(`group ${group} has no committed offsets to checkpoint`);
          const found = await deps.checkpoints.checkpoints(flow.name, group);
          const problem =
            found.oldestAgeMs === undefined
              ? `no checkpoint of group ${group} in ${p.to.cluster} yet`
              : found.inexact.length > 0
                ? `checkpoints of group ${group} not exact: ${found.inexact.join(", ")}`
                : found.oldestAgeMs > checkpointMaxAgeMs
                  ? `the oldest checkpoint of group ${group} is ${seconds(found.oldestAgeMs)} old, more than ${seconds(checkpointMaxAgeMs)}: is the offsets service checkpointing?`
                  : undefined;
          if (problem !== undefined && required) throw new Error(problem);
          if (problem !== undefined) return `${problem} (a switchover reads live positions)`;
          return `group ${group}: ${found.partitions} checkpoints, exact, oldest ${seconds(found.oldestAgeMs!)} old (fresh: under ${seconds(checkpointMaxAgeMs)})`;
        },
      );
    }
  }
}

/**
 * The last real transition of the same kind measured the RTO; without one, an estimate from
 * what the drill measured: the translations (a real one then commits them), a drain's wait for
 * a lag measured after it began, and one poll.
 */
async function expectedRto(
  p: Plan,
  steps: StepRecorder,
  context: DrillContext,
  translationMs: number,
): Promise<number> {
  const last = p.state.lastTransition;
  let rtoMs = 0;
  await steps.run("expected-rto", `expected time without an active region`, async () => {
    if (last?.kind === p.request.kind && last.rtoMs !== undefined) {
      rtoMs = last.rtoMs;
      return `${rtoMs} ms: what the last ${last.kind} (${last.id}) took`;
    }
    // A failover does not drain: the lost region's records are at risk instead.
    const drainMs = p.request.kind === "failover" ? 0 : context.lagIntervalMs;
    rtoMs = Math.round(2 * translationMs + drainMs + context.pollIntervalMs);
    const drain = drainMs > 0 ? `, drain ${drainMs} ms (a lag measured after it began)` : "";
    return `${rtoMs} ms estimated: translations ${Math.round(translationMs)} ms twice (check and commit)${drain}, poll ${context.pollIntervalMs} ms`;
  });
  return rtoMs;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
