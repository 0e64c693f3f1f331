// The region store: each group's state in Redis (compare-and-set scripts), its transition lock
// and history (region-transitions.ts), copies in the region topics, restored from them at start
// (restore-groups.ts), and ordered watches (state-watcher.ts). The parts share a StoreContext.
import { runLoop } from "@geo/backoff";
import { Code, GeoError } from "@geo/grpc";
import {
  createProtectionLocks,
  type ProtectionLock,
  type ProtectionLockResult,
  type TakeProtectionLock,
} from "./protection-lock";
import { type RegionGroup, requireGroup } from "./region-groups";
import {
  type BeginTransition,
  beginTransition,
  type FinishTransition,
  finishTransition,
  recordDrill,
  recordStep,
} from "./region-transitions";
import { restoreGroups } from "./restore-groups";
import type { StateListener } from "./state-watcher";
import { createStoreContext, type RegionStoreOptions, type StoreContext } from "./store-context";
import {
  normalizeRecord,
  type RegionPhase,
  type RegionState,
  type StepRecord,
  type TransitionRecord,
} from "./types";

export type { BeginTransition, FinishTransition } from "./region-transitions";
export type { RegionStoreOptions } from "./store-context";

export interface RegionStore {
  readonly groups: ReadonlyMap<string, RegionGroup>;
  /** How long a lock lasts without a step; a long step renews it (see `step`) more often. */
  readonly lockTtlMs: number;
  /** Restores every group from the region topic, then follows changes; retries until closed. */
  start(): void;
  /** Resolves when every group is restored. */
  whenReady(): Promise<void>;
  get(flowGroup: string): Promise<RegionState>;
  /** Every group, in name order. */
  list(): Promise<RegionState[]>;
  /** Recorded transitions and drills, newest first. */
  history(flowGroup: string, limit: number): Promise<TransitionRecord[]>;
  /** Takes the group's lock: ABORTED on a stale epoch, FAILED_PRECONDITION when one runs. */
  begin(request: BeginTransition, phase: RegionPhase): Promise<RegionState>;
  /** Records a step and renews the lock; ABORTED when the lock is no longer this transition's. */
  step(flowGroup: string, id: string, step?: StepRecord, phase?: RegionPhase): Promise<RegionState>;
  finish(
    flowGroup: string,
    id: string,
    result: FinishTransition,
  ): Promise<{ state: RegionState; record: TransitionRecord }>;
  /** How long a protection lock lasts; its holder must be done well within it. */
  readonly protectionLockTtlMs: number;
  /**
   * Takes the group's protection lock (protection-lock.ts): held by whoever changes the group's
   * passive-protection ACLs. Undefined when someone else held it for the whole wait.
   */
  takeProtectionLock(
    flowGroup: string,
    options?: TakeProtectionLock,
  ): Promise<ProtectionLock | undefined>;
  /** Runs `work` holding the group's protection lock; `locked: false` when it was not taken. */
  withProtectionLock<T>(
    flowGroup: string,
    work: (lock: ProtectionLock) => Promise<T>,
    options?: TakeProtectionLock,
  ): Promise<ProtectionLockResult<T>>;
  /** Keeps a drill's report in the history (and the region topic). */
  recordDrill(record: TransitionRecord): Promise<TransitionRecord>;
  /**
   * Calls `listener` with the current state of each matching group (initial), then with every
   * later change in order, until the returned function is called. Throws UNAVAILABLE before
   * the store is ready.
   */
  watch(flowGroups: readonly string[] | undefined, listener: StateListener): () => void;
  close(): Promise<void>;
}

export function createRegionStore(options: RegionStoreOptions): RegionStore {
  const ctx = createStoreContext(options);
  const locks = createProtectionLocks(
    ctx.redis,
    (group) => `${options.keyPrefix}region:protection-lock:${requireGroup(ctx.groups, group).name}`,
    options.protectionLockTtlMs ?? 60_000,
  );
  let loops: Promise<void> | undefined;
  return {
    groups: ctx.groups,
    lockTtlMs: ctx.lockTtlMs,
    start() {
      if (ctx.groups.size === 0) {
        // Nothing to restore or follow: no Redis connection of its own, no topic reads.
        ctx.markReady();
        return;
      }
      loops ??= restoreLoop(ctx).then(() =>
        ctx.abort.signal.aborted ? undefined : ctx.watcher.run(),
      );
    },
    whenReady: () => ctx.ready,
    get: (flowGroup) => getState(ctx, flowGroup),
    list: () => listStates(ctx),
    history: (flowGroup, limit) => readHistory(ctx, flowGroup, limit),
    begin: (request, phase) => beginTransition(ctx, request, phase),
    step: (flowGroup, id, step, phase) => recordStep(ctx, flowGroup, id, step, phase),
    finish: (flowGroup, id, result) => finishTransition(ctx, flowGroup, id, result),
    recordDrill: (record) => recordDrill(ctx, record),
    protectionLockTtlMs: locks.ttlMs,
    takeProtectionLock: (flowGroup, lockOptions) => locks.take(flowGroup, lockOptions),
    withProtectionLock: (flowGroup, work, lockOptions) => locks.with(flowGroup, work, lockOptions),
    watch(flowGroups, listener) {
      for (const name of flowGroups ?? []) requireGroup(ctx.groups, name);
      ctx.requireReady();
      return ctx.watcher.subscribe(flowGroups, listener);
    },
    async close() {
      ctx.abort.abort();
      await loops;
      await ctx.persister.close();
    },
  };
}

/** Restores every group, retrying those not restored yet; ends once all are, or on close. */
async function restoreLoop(ctx: StoreContext): Promise<void> {
  const pending = new Set(ctx.groups.keys());
  // Ends once every group is restored (the watcher takes over), or when the store closes.
  const done = new AbortController();
  ctx.abort.signal.addEventListener("abort", () => done.abort(), { once: true });
  await runLoop(
    async () => {
      const restored = await restoreGroups(
        ctx,
        [...pending].map((name) => ctx.groups.get(name)!),
      );
      for (const name of restored) pending.delete(name);
      if (pending.size > 0)
        throw new Error(`flow groups not restored yet: ${[...pending].join(", ")}`);
      await ctx.watcher.prime();
      ctx.markReady();
      done.abort();
      void ctx.persister.flush();
    },
    {
      intervalMs: 60_000,
      signal: done.signal,
      initialMs: 500,
      maxMs: 10_000,
      onError: (error, delayMs) =>
        ctx.logger.warn(
          { err: (error as Error).message, delayMs },
          "restoring region states; retrying",
        ),
    },
  );
}

async function getState(ctx: StoreContext, flowGroup: string): Promise<RegionState> {
  requireGroup(ctx.groups, flowGroup);
  ctx.requireReady();
  const json = await ctx.redis.get(ctx.keysOf(flowGroup)[0]);
  if (json === null) {
    throw new GeoError(
      Code.UNAVAILABLE,
      `Redis lost the region state of "${flowGroup}"; it is being restored, retry shortly`,
      { retriable: true },
    );
  }
  return ctx.parse(json);
}

async function listStates(ctx: StoreContext): Promise<RegionState[]> {
  ctx.requireReady();
  const names = [...ctx.groups.keys()].sort();
  if (names.length === 0) return [];
  const values = await ctx.redis.mget(...names.map((name) => ctx.keysOf(name)[0]));
  return values.flatMap((json) => (json === null ? [] : [ctx.parse(json)]));
}

async function readHistory(
  ctx: StoreContext,
  flowGroup: string,
  limit: number,
): Promise<TransitionRecord[]> {
  requireGroup(ctx.groups, flowGroup);
  if (limit <= 0) return [];
  const items = await ctx.redis.lrange(
    ctx.keysOf(flowGroup)[2],
    0,
    Math.min(limit, ctx.historyMax) - 1,
  );
  return items.map((json) => normalizeRecord(JSON.parse(json)));
}
