// Follows every change of the region states, from any health service, in order: the scripts
// append each change to one Redis stream, tailed here with a blocking XREAD; a periodic re-read
// catches what the stream cannot show (Redis restarted empty), and refills a lost state.
import { runLoop } from "@geo/backoff";
import type { Logger } from "@geo/logging";
import type { Redis } from "ioredis";
import { isNewer, normalizeState, type RegionState } from "./types";

/** Told of each state: `initial` for the current states when subscribing, then every change. */
export type StateListener = (state: RegionState, initial: boolean) => void;

export interface StateWatcherOptions {
  readonly redis: Redis;
  readonly streamKey: string;
  readonly stateKeys: readonly string[];
  readonly logger: Logger;
  readonly resyncIntervalMs: number;
  readonly signal: AbortSignal;
  /** Called when a state this process saw is missing from Redis. */
  readonly refill: (state: RegionState) => Promise<void>;
  /** Longest XREAD block, so a close is noticed. Default 1000 ms. */
  readonly blockMs?: number;
}

export interface StateWatcher {
  /** Takes a state read or written by this process; listeners hear it when it is newer. */
  apply(state: RegionState): void;
  /** Reads the stream position and then every state, before run(). */
  prime(): Promise<void>;
  /** Tails and re-reads until the signal aborts. */
  run(): Promise<void>;
  subscribe(flowGroups: readonly string[] | undefined, listener: StateListener): () => void;
}

export function createStateWatcher(options: StateWatcherOptions): StateWatcher {
  const { redis, streamKey, logger } = options;
  const latest = new Map<string, RegionState>();
  const listeners = new Set<Subscription>();
  let lastId = "0-0";

  const apply = (state: RegionState) => {
    if (!isNewer(state, latest.get(state.flowGroup))) return;
    latest.set(state.flowGroup, state);
    for (const { groups, listener } of listeners) {
      if (groups !== undefined && !groups.has(state.flowGroup)) continue;
      try {
        listener(state, false);
      } catch (error) {
        logger.error({ err: (error as Error).message }, "a region state listener failed");
      }
    }
  };

  const resync = async () => {
    if (options.stateKeys.length === 0) return;
    const values = await redis.mget(...options.stateKeys);
    const seen = new Set<string>();
    for (const json of values) {
      if (json === null) continue;
      const state = normalizeState(JSON.parse(json));
      seen.add(state.flowGroup);
      apply(state);
    }
    for (const state of latest.values())
      if (!seen.has(state.flowGroup)) await options.refill(state);
  };

  const tail = async (reader: Redis) => {
    const changes = await readChanges(reader, streamKey, lastId, options.blockMs ?? 1000);
    for (const { id, json } of changes) {
      lastId = id;
      if (json !== undefined) apply(normalizeState(JSON.parse(json)));
    }
  };

  return {
    apply,
    async prime() {
      const newest = (await redis.xrevrange(streamKey, "+", "-", "COUNT", 1)) as [
        string,
        string[],
      ][];
      lastId = newest[0]?.[0] ?? "0-0";
      await resync();
    },
    run: () => tailAndResync(options, tail, resync),
    subscribe: (flowGroups, listener) => subscribe(latest, listeners, flowGroups, listener),
  };
}

interface Subscription {
  /** Undefined: every flow group. */
  readonly groups?: ReadonlySet<string>;
  readonly listener: StateListener;
}

/** The stream's entries after `lastId` (blocking up to `blockMs`): their ids and state JSON. */
async function readChanges(
  reader: Redis,
  streamKey: string,
  lastId: string,
  blockMs: number,
): Promise<{ id: string; json: string | undefined }[]> {
  const reply = (await reader.xread(
    "COUNT",
    100,
    "BLOCK",
    blockMs,
    "STREAMS",
    streamKey,
    lastId,
  )) as [string, [string, string[]][]][] | null;
  return (reply ?? []).flatMap(([, entries]) =>
    entries.map(([id, fields]) => ({ id, json: fields[fields.indexOf("state") + 1] })),
  );
}

/** Tails the stream on a reader of its own and re-reads every state, until the signal aborts. */
async function tailAndResync(
  options: StateWatcherOptions,
  tail: (reader: Redis) => Promise<void>,
  resync: () => Promise<void>,
): Promise<void> {
  const { signal, logger } = options;
  const reader = options.redis.duplicate();
  const stop = () => reader.disconnect();
  signal.addEventListener("abort", stop, { once: true });
  const onError = (what: string) => (error: unknown, delayMs: number) => {
    // Closing disconnects the blocked reader; that is not worth a warning.
    if (!signal.aborted)
      logger.warn({ err: (error as Error).message, delayMs }, `${what} failed; retrying`);
  };
  await Promise.all([
    runLoop(() => tail(reader), {
      intervalMs: 0,
      signal,
      onError: onError("tailing region state changes"),
    }),
    runLoop(resync, {
      intervalMs: options.resyncIntervalMs,
      signal,
      onError: onError("re-reading region states"),
    }),
  ]);
  reader.disconnect();
}

/** Tells the listener the current states of its groups (by name), then every change. */
function subscribe(
  latest: ReadonlyMap<string, RegionState>,
  listeners: Set<Subscription>,
  flowGroups: readonly string[] | undefined,
  listener: StateListener,
): () => void {
  const entry: Subscription = {
    ...(flowGroups === undefined || flowGroups.length === 0 ? {} : { groups: new Set(flowGroups) }),
    listener,
  };
  for (const state of [...latest.values()].sort((a, b) => a.flowGroup.localeCompare(b.flowGroup))) {
    if (entry.groups === undefined || entry.groups.has(state.flowGroup)) listener(state, true);
  }
  listeners.add(entry);
  return () => listeners.delete(entry);
}
