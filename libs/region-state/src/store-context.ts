// What the parts of the region store share: the groups and their Redis keys, the scripts, the
// persister that copies changes into the region topics, the watcher that orders them for
// subscribers, and whether every group is restored yet.
import { Code, GeoError } from "@geo/grpc";
import type { Logger } from "@geo/logging";
import type { Redis } from "ioredis";
import { createPersister } from "./persister";
import { type RegionGroup, requireGroup } from "./region-groups";
import type { RegionLog } from "./region-log";
import type { RestoreContext } from "./restore-groups";
import { scriptRunner } from "./scripts";
import { createStateWatcher, type StateWatcher } from "./state-watcher";
import { normalizeState, type RegionState, regionJson, type TransitionRecord } from "./types";

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
  /** How long a group's protection lock lasts unless released (protection-lock.ts). Default 60 s. */
  readonly protectionLockTtlMs?: number;
  /** Transition records kept per group. Default 100. */
  readonly historyMax?: number;
  /** How often Redis is compared with what watchers saw (and refilled if it lost it). Default 2 s. */
  readonly resyncIntervalMs?: number;
}

export interface StoreContext extends RestoreContext {
  readonly groups: ReadonlyMap<string, RegionGroup>;
  readonly lockTtlMs: number;
  readonly watcher: StateWatcher;
  /** Aborted when the store closes: ends the restore loop and the watcher. */
  readonly abort: AbortController;
  /** Resolves once every group is restored. */
  readonly ready: Promise<void>;
  markReady(): void;
  /** Throws UNAVAILABLE until every group is restored. */
  requireReady(): void;
  /** A state read from Redis, shown to the watcher on the way. */
  parse(json: string): RegionState;
  /** Queues a state (and a transition record) for the region topics of the group's clusters. */
  persistState(state: RegionState, record?: TransitionRecord): void;
  clustersOf(group: string): string[];
}

export function createStoreContext(options: RegionStoreOptions): StoreContext {
  const { redis, keyPrefix, log, logger } = options;
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
  const clustersOf = (group: string) => requireGroup(groups, group).regions.map((r) => r.cluster);
  return {
    redis,
    run,
    log,
    persister,
    logger,
    keysOf,
    groups,
    watcher,
    abort,
    clustersOf,
    lockTtlMs: options.lockTtlMs ?? 60_000,
    historyMax: options.historyMax ?? 100,
    ...readiness(),
    parse(json) {
      const state = normalizeState(JSON.parse(json));
      watcher.apply(state);
      return state;
    },
    persistState(state, record) {
      persister.enqueue(clustersOf(state.flowGroup), [
        { type: "state", state },
        ...(record === undefined ? [] : [{ type: "transition" as const, record }]),
      ]);
    },
  };
}

/** Whether every group is restored: awaited by whenReady, required by every read and write. */
function readiness(): Pick<StoreContext, "ready" | "markReady" | "requireReady"> {
  let isReady = false;
  let resolveReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });
  return {
    ready,
    markReady() {
      isReady = true;
      resolveReady();
    },
    requireReady() {
      if (!isReady) {
        throw new GeoError(
          Code.UNAVAILABLE,
          "the region state is being restored from the region topic; retry shortly",
          { retriable: true },
        );
      }
    },
  };
}
