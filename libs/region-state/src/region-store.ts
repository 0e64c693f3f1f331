import { randomUUID } from "node:crypto";
import { runLoop, sleep } from "@geo/backoff";
import { Code, GeoError } from "@geo/grpc";
import type { Logger } from "@geo/logging";
import { type Epoch, epochToScript, NO_EPOCH } from "@geo/positions";
import type { Redis } from "ioredis";
import { createPersister } from "./persister";
import { type RegionGroup, requireGroup, requireRegion } from "./region-groups";
import type { RegionLog } from "./region-log";
import { restoreGroups } from "./restore-groups";
import { scriptRunner } from "./scripts";
import { createStateWatcher, type StateListener } from "./state-watcher";
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
export interface RegionStoreOptions {
  /** A client of the project's Redis; the store duplicates it for its blocking reads. */
  readonly redis: Redis;
  /** RedisConfig.keyPrefix (ioredis's own prefixing is not used; see @geo/redis). */
  readonly keyPrefix: string;
  readonly groups: readonly RegionGroup[];
  readonly log: RegionLog;
  readonly logger: Logger;
  /** How long a transition's lock lasts without a recorded step. Default 60 s. */
  readonly lockTtlMs?: number;
  /** Transition records kept per group. Default 100. */
  readonly historyMax?: number;
  /** How often Redis is compared with what watchers saw (and refilled if it lost it). Default 2 s. */
  readonly resyncIntervalMs?: number;
}

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
  const { redis, keyPrefix, log, logger } = options;
  const lockTtlMs = options.lockTtlMs ?? 60_000;
  const historyMax = options.historyMax ?? 100;
  const groups = new Map(options.groups.map((group) => [group.name, group]));
  const run = scriptRunner(redis);
  const streamKey = `${keyPrefix}region:changes`;
  const keysOf = (group: string) =>
    [
      `${keyPrefix}region:state:${group}`,
      streamKey,
      `${keyPrefix}region:history:${group}`,
    ] as const;
  const persister = createPersister(log, logger);
  const abort = new AbortController();
  const restoreContext = { redis, run, log, persister, logger, keysOf, historyMax };
  const watcher = createStateWatcher({
    redis,
    streamKey,
    stateKeys: [...groups.keys()].map((name) => keysOf(name)[0]),
    logger,
    resyncIntervalMs: options.resyncIntervalMs ?? 2000,
    signal: abort.signal,
    // Redis lost a group (restarted empty): put back the newest state this process has seen.
    refill: async (state) => {
      await run("geoRegionRestore", keysOf(state.flowGroup), [regionJson(state)]);
      logger.warn(
        { flowGroup: state.flowGroup, epoch: String(state.epoch) },
        "Redis lost the region state; restored it",
      );
    },
  });
  let loops: Promise<void> | undefined;
  let resolveReady: () => void;
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });
  let isReady = false;

  const clustersOf = (group: string) => requireGroup(groups, group).regions.map((r) => r.cluster);
  const persistState = (state: RegionState, record?: TransitionRecord) => {
    persister.enqueue(clustersOf(state.flowGroup), [
      { type: "state", state },
      ...(record === undefined ? [] : [{ type: "transition" as const, record }]),
    ]);
  };
  const requireReady = () => {
    if (!isReady) {
      throw new GeoError(
        Code.UNAVAILABLE,
        "the region state is being restored from the region topic; retry shortly",
        {
          retriable: true,
        },
      );
    }
  };
  const parse = (json: string) => {
    const state = normalizeState(JSON.parse(json));
    watcher.apply(state);
    return state;
  };

  async function restoreLoop(signal: AbortSignal): Promise<void> {
    const pending = new Set(groups.keys());
    // Ends once every group is restored (the watcher takes over), or when the store closes.
    const done = new AbortController();
    signal.addEventListener("abort", () => done.abort(), { once: true });
    await runLoop(
      async () => {
        const restored = await restoreGroups(
          restoreContext,
          [...pending].map((name) => groups.get(name)!),
        );
        for (const name of restored) pending.delete(name);
        if (pending.size > 0)
          throw new Error(`flow groups not restored yet: ${[...pending].join(", ")}`);
        await watcher.prime();
        isReady = true;
        resolveReady();
        done.abort();
        void persister.flush();
      },
      {
        intervalMs: 60_000,
        signal: done.signal,
        initialMs: 500,
        maxMs: 10_000,
        onError: (error, delayMs) =>
          logger.warn(
            { err: (error as Error).message, delayMs },
            "restoring region states; retrying",
          ),
      },
    );
  }

  return {
    groups,
    lockTtlMs,
    start() {
      if (groups.size === 0) {
        // Nothing to restore or follow: no Redis connection of its own, no topic reads.
        isReady = true;
        resolveReady();
        return;
      }
      loops ??= restoreLoop(abort.signal).then(() =>
        abort.signal.aborted ? undefined : watcher.run(),
      );
    },
    whenReady: () => ready,

    async get(flowGroup) {
      requireGroup(groups, flowGroup);
      requireReady();
      const json = await redis.get(keysOf(flowGroup)[0]);
      if (json === null) {
        throw new GeoError(
          Code.UNAVAILABLE,
          `Redis lost the region state of "${flowGroup}"; it is being restored, retry shortly`,
          {
            retriable: true,
          },
        );
      }
      return parse(json);
    },

    async list() {
      requireReady();
      const names = [...groups.keys()].sort();
      if (names.length === 0) return [];
      const values = await redis.mget(...names.map((name) => keysOf(name)[0]));
      return values.flatMap((json) => (json === null ? [] : [parse(json)]));
    },

    async history(flowGroup, limit) {
      requireGroup(groups, flowGroup);
      if (limit <= 0) return [];
      const items = await redis.lrange(keysOf(flowGroup)[2], 0, Math.min(limit, historyMax) - 1);
      return items.map((json) => normalizeRecord(JSON.parse(json)));
    },

    async begin(request, phase) {
      const group = requireGroup(groups, request.flowGroup);
      requireRegion(group, request.toRegion);
      requireReady();
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
      const [status, json, abandoned] = (await run("geoRegionBegin", keysOf(group.name), [
        epochToScript(request.expectedEpoch, "expected_epoch"),
        JSON.stringify(lock),
        phase,
        lockTtlMs,
        historyMax,
      ])) as [string, string, string];
      if (abandoned !== "") {
        const record = normalizeRecord(JSON.parse(abandoned));
        logger.warn(
          { flowGroup: group.name, transition: record.id },
          "an abandoned transition was recorded",
        );
        persistState(normalizeState(JSON.parse(json)), record);
      }
      if (status === "missing") {
        throw new GeoError(
          Code.UNAVAILABLE,
          `Redis lost the region state of "${group.name}"; it is being restored, retry shortly`,
          { retriable: true },
        );
      }
      const state = json === "" ? undefined : parse(json);
      if (status !== "ok" || state === undefined) throw beginRefusal(status, request, state);
      return state;
    },

    async step(flowGroup, id, step, phase) {
      const [status, json] = (await run("geoRegionStep", keysOf(flowGroup), [
        id,
        step === undefined ? "" : JSON.stringify(step),
        phase ?? "",
        lockTtlMs,
      ])) as [string, string];
      if (status !== "ok") throw lostLock(flowGroup, id);
      return parse(json);
    },

    async finish(flowGroup, id, result) {
      const [status, json, recordJson] = (await run("geoRegionFinish", keysOf(flowGroup), [
        id,
        JSON.stringify({
          ...result,
          rpoRecords: result.rpoRecords === undefined ? undefined : result.rpoRecords.toString(),
        }),
        historyMax,
      ])) as [string, string, string];
      if (status !== "ok") throw lostLock(flowGroup, id);
      const state = parse(json);
      const record = normalizeRecord(JSON.parse(recordJson));
      persistState(state, record);
      // Redis holds the flip; the region topics are its copy for an empty Redis. Wait a moment
      // for them, not for a lost region's brokers: the persister keeps retrying those, and a
      // failover's caller must not wait out their timeouts.
      await Promise.race([persister.flush(), sleep(FINISH_PERSIST_WAIT_MS)]);
      return { state, record };
    },

    async recordDrill(record) {
      requireGroup(groups, record.flowGroup);
      const json = (await run("geoRegionRecord", keysOf(record.flowGroup), [
        regionJson(record),
        historyMax,
      ])) as string;
      const kept = normalizeRecord(JSON.parse(json));
      persister.enqueue(clustersOf(record.flowGroup), [{ type: "transition", record: kept }]);
      void persister.flush();
      return kept;
    },

    watch(flowGroups, listener) {
      for (const name of flowGroups ?? []) requireGroup(groups, name);
      requireReady();
      return watcher.subscribe(flowGroups, listener);
    },

    async close() {
      abort.abort();
      await loops;
      await persister.close();
    },
  };
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
