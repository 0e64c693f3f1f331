// A transition's lock in Redis: taken with compare-and-set on the epoch (begin), renewed by every
// recorded step, released by finish (which flips the active region when the transition
// succeeded); a drill's report is only recorded. Each change goes to the region topics too.
import { randomUUID } from "node:crypto";
import { sleep } from "@geo/backoff";
import { Code, GeoError } from "@geo/grpc";
import { type Epoch, epochToScript, NO_EPOCH } from "@geo/positions";
import { requireGroup, requireRegion } from "./region-groups";
import type { StoreContext } from "./store-context";
import {
  normalizeRecord,
  normalizeState,
  type RegionPhase,
  type RegionState,
  regionJson,
  type StepRecord,
  type TransitionFindings,
  type TransitionKind,
  type TransitionOutcome,
  type TransitionRecord,
} from "./types";

/** Longest wait in finish() for the region topics to take the new state. */
const FINISH_PERSIST_WAIT_MS = 2000;

export interface BeginTransition {
  readonly flowGroup: string;
  readonly kind: TransitionKind;
  readonly toRegion: string;
  readonly expectedEpoch: Epoch;
  readonly actor: string;
  readonly reason: string;
}

export interface FinishTransition extends TransitionFindings {
  readonly outcome: Exclude<
    TransitionOutcome,
    "running" | "abandoned" | "drill-passed" | "drill-failed"
  >;
  /** Make the lock's target the active region (new epoch), entering `phase`. */
  readonly flip: boolean;
  readonly phase?: RegionPhase;
  /** Records written to the old region and not replicated. */
  readonly rpoRecords?: bigint;
}

/** Takes the group's lock: ABORTED on a stale epoch, FAILED_PRECONDITION when one runs. */
export async function beginTransition(
  ctx: StoreContext,
  request: BeginTransition,
  phase: RegionPhase,
): Promise<RegionState> {
  const group = requireGroup(ctx.groups, request.flowGroup);
  requireRegion(group, request.toRegion);
  ctx.requireReady();
  if (!(request.expectedEpoch > NO_EPOCH)) {
    throw new GeoError(
      Code.INVALID_ARGUMENT,
      "expected_epoch is required: read the group's epoch with GetRegionState and pass it, so a transition never acts on a state that moved on",
    );
  }
  const lock = {
    id: randomUUID(),
    flowGroup: group.name,
    kind: request.kind,
    toRegion: request.toRegion,
    actor: request.actor,
    reason: request.reason,
    dryRun: false,
    steps: [],
  };
  const [status, json, abandoned] = (await ctx.run("geoRegionBegin", ctx.keysOf(group.name), [
    epochToScript(request.expectedEpoch, "expected_epoch"),
    JSON.stringify(lock),
    phase,
    ctx.lockTtlMs,
    ctx.historyMax,
  ])) as [string, string, string];
  if (abandoned !== "") {
    const record = normalizeRecord(JSON.parse(abandoned));
    ctx.logger.warn(
      { flowGroup: group.name, transition: record.id },
      "an abandoned transition was recorded",
    );
    ctx.persistState(normalizeState(JSON.parse(json)), record);
  }
  if (status === "missing") {
    throw new GeoError(
      Code.UNAVAILABLE,
      `Redis lost the region state of "${group.name}"; it is being restored, retry shortly`,
      { retriable: true },
    );
  }
  const state = json === "" ? undefined : ctx.parse(json);
  if (status !== "ok" || state === undefined) throw beginRefusal(status, request, state);
  return state;
}

/** Records a step and renews the lock; ABORTED when the lock is no longer this transition's. */
export async function recordStep(
  ctx: StoreContext,
  flowGroup: string,
  id: string,
  step: StepRecord | undefined,
  phase: RegionPhase | undefined,
): Promise<RegionState> {
  const [status, json] = (await ctx.run("geoRegionStep", ctx.keysOf(flowGroup), [
    id,
    step === undefined ? "" : JSON.stringify(step),
    phase ?? "",
    ctx.lockTtlMs,
  ])) as [string, string];
  if (status !== "ok") throw lostLock(flowGroup, id);
  return ctx.parse(json);
}

export async function finishTransition(
  ctx: StoreContext,
  flowGroup: string,
  id: string,
  result: FinishTransition,
): Promise<{ state: RegionState; record: TransitionRecord }> {
  const [status, json, recordJson] = (await ctx.run("geoRegionFinish", ctx.keysOf(flowGroup), [
    id,
    JSON.stringify({
      ...result,
      rpoRecords: result.rpoRecords === undefined ? undefined : result.rpoRecords.toString(),
    }),
    ctx.historyMax,
  ])) as [string, string, string];
  if (status !== "ok") throw lostLock(flowGroup, id);
  const state = ctx.parse(json);
  const record = normalizeRecord(JSON.parse(recordJson));
  ctx.persistState(state, record);
  // Redis holds the flip; the region topics are its copy for an empty Redis, which restores
  // the newest state either cluster has. So wait a moment for the active region's copy only:
  // a failover's caller must not wait out a lost region's brokers (the persister keeps
  // retrying those, and the other cluster's write goes on in the background).
  const active = requireGroup(ctx.groups, flowGroup).regions.find(
    (r) => r.region === state.activeRegion,
  );
  void ctx.persister.flush();
  await Promise.race([
    ctx.persister.flush(active === undefined ? undefined : [active.cluster]),
    sleep(FINISH_PERSIST_WAIT_MS),
  ]);
  return { state, record };
}

/** Keeps a drill's report in the history (and the region topic). */
export async function recordDrill(
  ctx: StoreContext,
  record: TransitionRecord,
): Promise<TransitionRecord> {
  requireGroup(ctx.groups, record.flowGroup);
  const json = (await ctx.run("geoRegionRecord", ctx.keysOf(record.flowGroup), [
    regionJson(record),
    ctx.historyMax,
  ])) as string;
  const kept = normalizeRecord(JSON.parse(json));
  ctx.persister.enqueue(ctx.clustersOf(record.flowGroup), [{ type: "transition", record: kept }]);
  void ctx.persister.flush();
  return kept;
}

function beginRefusal(
  status: string,
  request: BeginTransition,
  state: RegionState | undefined,
): GeoError {
  const group = request.flowGroup;
  if (status === "busy" && state?.transition !== undefined) {
    const t = state.transition;
    return new GeoError(
      Code.FAILED_PRECONDITION,
      `flow group "${group}" is already in a transition: ${t.kind} ${t.id} to ${t.toRegion} by ${t.actor}, started ${new Date(t.startTimeMs).toISOString()}; wait for it to end (WatchRegionState shows it) and retry with the new epoch`,
      { details: { transitionId: t.id } },
    );
  }
  if (status === "stale" && state !== undefined) {
    return new GeoError(
      Code.ABORTED,
      `expected_epoch ${request.expectedEpoch} is stale: flow group "${group}" is at epoch ${state.epoch} with ${state.activeRegion} active; read GetRegionState and retry with epoch ${state.epoch} if the move still makes sense`,
      { details: { epoch: String(state.epoch), activeRegion: state.activeRegion } },
    );
  }
  if (status === "already-active" && state !== undefined) {
    return new GeoError(
      Code.FAILED_PRECONDITION,
      `region "${request.toRegion}" is already active for flow group "${group}" (epoch ${state.epoch}); nothing to move`,
    );
  }
  return new GeoError(Code.INTERNAL, `unexpected answer "${status}" from the region-state script`);
}

function lostLock(flowGroup: string, id: string): GeoError {
  return new GeoError(
    Code.ABORTED,
    `transition ${id} no longer holds the lock of flow group "${flowGroup}" (its lock expired and another transition took it, or Redis lost it); it stopped without moving the active region`,
  );
}
