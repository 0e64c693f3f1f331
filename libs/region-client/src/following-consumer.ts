// A kafkajs consumer that follows the active region: when the region drains it stops taking
// records, commits exactly what its handler finished and leaves the group; after the flip it
// has the group's offsets translated into the new region (geo.offsets.v1, or a function given)
// and joins there, so every record is handled once.

import type { Logger } from "@geo/logging";
import { healthV1 } from "@geo/proto";
import type { Consumer, ConsumerConfig, EachMessagePayload } from "kafkajs";
import type { FollowingClient, FollowingClientOptions } from "./following-client";
import { componentLogger, type RegionEndpoint, type RegionView } from "./region-follower";
import { followInOrder, kafkaFor, untilDone, within } from "./region-switch";

export interface TranslateRequest {
  readonly groupId: string;
  readonly flowGroup: string;
  readonly from: RegionEndpoint;
  readonly to: RegionEndpoint;
}

/** Commits the group's offsets of `from`, translated, into `to` before the consumer joins there. */
export type CommitTranslated = (request: TranslateRequest) => Promise<void>;

export interface FollowingConsumerOptions extends FollowingClientOptions {
  readonly groupId: string;
  /** Topics to read in a region (with prefix naming, the remote topics differ by region). */
  readonly topics: (region: string) => readonly string[];
  readonly eachMessage: (payload: EachMessagePayload & { region: string }) => Promise<void>;
  /** See offsets-committer.ts for the geo.offsets.v1 one. */
  readonly commitTranslated: CommitTranslated;
  /** kafkajs's consumer options; `maxWaitTimeInMs` defaults to 500 ms here (a quick leave). */
  readonly consumerConfig?: Omit<ConsumerConfig, "groupId">;
  /** Longest wait for the last commit and leaving the old region. Default 10 s. */
  readonly leaveTimeoutMs?: number;
  /** Where a partition without a committed offset starts. Default true (earliest). */
  readonly fromBeginning?: boolean;
}

/** `region()` is where it consumes now; undefined between leaving a region and joining the next. */
export type FollowingConsumer = FollowingClient;

export function createFollowingConsumer(options: FollowingConsumerOptions): FollowingConsumer {
  const state: ConsumerState = {
    options,
    logger: componentLogger(options.logger, {
      component: "following-consumer",
      group: options.groupId,
    }),
    running: undefined,
    finished: new Map(),
    handling: Promise.resolve(),
    closed: false,
    history: [],
    left: new WeakSet(),
  };
  let lastRegion: string | undefined;

  const apply = async (view: RegionView) => {
    if (!view.open || (state.running !== undefined && state.running.region !== view.activeRegion))
      await leave(state, LEFT_BY_FAILOVER.has(view.phase));
    if (!view.open || state.running !== undefined || state.closed) return;
    if (lastRegion !== undefined && lastRegion !== view.activeRegion)
      await translate(state, view, lastRegion);
    if (state.closed) return;
    // A topic of the region not created yet (a remote topic the coordinator is about to make) or
    // brokers answering late must not leave the consumer outside the group: retry until it joins,
    // unless the region moved on meanwhile (the next change is applied after this one).
    const superseded = () => state.closed || options.follower.current()?.epoch !== view.epoch;
    const joined = await untilDone(
      `joining group in ${view.activeRegion}`,
      () => join(state, view),
      superseded,
      state.logger,
    );
    if (joined) lastRegion = view.activeRegion;
  };
  const following = followInOrder(options.follower, apply, state.logger, "consumer");

  return {
    start: () => following.started,
    region: () => state.running?.region,
    history: state.history,
    async close() {
      state.closed = true;
      following.stop();
      await following.idle();
      await leave(state, false);
    },
  };
}

/** What joining, consuming and leaving a region share. */
interface ConsumerState {
  readonly options: FollowingConsumerOptions;
  readonly logger: Logger;
  running: { region: string; consumer: Consumer; topics: readonly string[] } | undefined;
  /** Next offset to read, per `topic/partition`, for what the handler finished. */
  finished: Map<string, { topic: string; partition: number; offset: string }>;
  /** The handler's current record (settles, never rejects). */
  handling: Promise<void>;
  closed: boolean;
  readonly history: string[];
  /** Consumers this one left: kafkajs must not restart them after a crash. */
  readonly left: WeakSet<Consumer>;
}

/** The phases in which the region being left is (taken for) lost. */
const LEFT_BY_FAILOVER = new Set([
  healthV1.RegionPhase.FAILING_OVER,
  healthV1.RegionPhase.FAILED_OVER,
]);

/**
 * How long leaving a lost region waits for its brokers to end the session (kafkajs's disconnect
 * from a dead broker hangs; it goes on in the background, and `left` keeps it from restarting).
 */
const LOST_REGION_DISCONNECT_MS = 500;

/**
 * Stops taking records, commits what the handler finished and leaves the region's group. Out of
 * a region a failover leaves, nothing is committed there: the failover already committed the
 * group's translated checkpoints in the new region, and a dead region's coordinator would only
 * hold the consumer for `leaveTimeoutMs` (5 s of a bench failover's 10.6 s to resume).
 */
async function leave(state: ConsumerState, lost: boolean): Promise<void> {
  if (state.running === undefined) return;
  const { consumer, topics, region } = state.running;
  state.running = undefined;
  state.left.add(consumer);
  consumer.pause(topics.map((topic) => ({ topic })));
  const timeoutMs = state.options.leaveTimeoutMs ?? 10_000;
  await within(timeoutMs, state.handling);
  const offsets = [...state.finished.values()];
  // A region that failed cannot take the commit; the failover translates its checkpoints.
  const committed =
    !lost &&
    (await within(
      timeoutMs,
      offsets.length > 0 ? consumer.commitOffsets(offsets) : Promise.resolve(),
    ).catch((error: Error) => {
      state.logger.warn({ region, err: error.message }, "could not commit before leaving");
      return false;
    }));
  // Disconnected whatever the commit did: a consumer left connecting to a dead region would
  // keep retrying (and the process alive); `left` also stops kafkajs from restarting it.
  const disconnected = await within(
    lost ? Math.min(timeoutMs, LOST_REGION_DISCONNECT_MS) : timeoutMs,
    consumer.disconnect().catch(() => undefined),
  );
  state.logger.info(
    {
      region,
      committed: committed ? offsets.length : 0,
      clean: committed && disconnected,
      ...(lost ? { failover: true } : {}),
    },
    "left the region",
  );
}

/** Has the group's offsets of `from` translated into the active region, retrying until done. */
async function translate(state: ConsumerState, view: RegionView, from: string) {
  const request = {
    groupId: state.options.groupId,
    flowGroup: view.flowGroup,
    from: view.regions.get(from)!,
    to: view.regions.get(view.activeRegion)!,
  };
  // Joining without the translated offsets would re-read or skip records: keep trying.
  return untilDone(
    "committing translated offsets",
    () => state.options.commitTranslated(request),
    () => state.closed,
    state.logger,
  );
}

/** Joins the group in the active region and consumes there, noting what the handler finished. */
async function join(state: ConsumerState, view: RegionView): Promise<void> {
  const { options } = state;
  const region = view.activeRegion;
  const consumer = groupConsumer(state, view);
  const topics = options.topics(region);
  try {
    await consumer.connect();
    await consumer.subscribe({
      topics: [...topics],
      fromBeginning: options.fromBeginning ?? true,
    });
  } catch (error) {
    await consumer.disconnect().catch(() => undefined);
    throw error;
  }
  state.finished = new Map();
  await consumer.run({
    eachMessage: async (payload) => {
      const work = options.eachMessage({ ...payload, region });
      state.handling = work.catch(() => undefined);
      await work;
      const { topic, partition, message } = payload;
      state.finished.set(`${topic}/${partition}`, {
        topic,
        partition,
        offset: String(BigInt(message.offset) + 1n),
      });
    },
  });
  state.running = { region, consumer, topics };
  state.history.push(region);
  state.logger.info({ region, topics }, "consuming in the active region");
}

/** The consumer's fetch wait unless `consumerConfig.maxWaitTimeInMs` says otherwise. */
const DEFAULT_MAX_WAIT_MS = 500;

/** A kafkajs consumer of the group in the active region, restarted after a crash only while used. */
function groupConsumer(state: ConsumerState, view: RegionView): Consumer {
  const { options } = state;
  const kafka = kafkaFor(
    view,
    view.activeRegion,
    options.kafkaConfig,
    options.clientId ?? "geo-following-consumer",
  );
  const retry = options.consumerConfig?.retry;
  const consumer: Consumer = kafka.consumer({
    // Leaving waits for the fetch in flight, which idles this long once a drain stops the
    // producers: kafkajs's 5 s default was most of a switchover's RTO.
    maxWaitTimeInMs: DEFAULT_MAX_WAIT_MS,
    ...options.consumerConfig,
    groupId: options.groupId,
    retry: {
      ...retry,
      // kafkajs restarts a crashed consumer (a broker gone) forever by default.
      restartOnFailure: async (error) =>
        !state.closed && !state.left.has(consumer) && (retry?.restartOnFailure?.(error) ?? true),
    },
  });
  return consumer;
}
