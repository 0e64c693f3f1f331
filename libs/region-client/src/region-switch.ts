// What the producer and the consumer share: applying region changes one at a time, in order,
// and building a kafkajs client for a region's endpoint.
import { createBackoff, sleep } from "@geo/backoff";
import type { Logger } from "@geo/logging";
import { Kafka, type KafkaConfig, logLevel } from "kafkajs";
import type { RegionEndpoint, RegionFollower, RegionView } from "./region-follower";

/** kafkajs settings for a region; `brokers` defaults to the endpoint's bootstrap servers. */
export type KafkaConfigForRegion = (endpoint: RegionEndpoint) => Partial<KafkaConfig>;

export function kafkaFor(
  view: RegionView,
  region: string,
  configFor: KafkaConfigForRegion | undefined,
  clientId: string,
): Kafka {
  const endpoint = view.regions.get(region);
  if (endpoint === undefined) {
    throw new Error(
      `the health service lists no cluster for region "${region}" of flow group ${view.flowGroup}`,
    );
  }
  return new Kafka({
    clientId,
    brokers: [...endpoint.bootstrapServers],
    logLevel: logLevel.NOTHING,
    ...configFor?.(endpoint),
  });
}

/**
 * Calls `apply` for the first state and every change, strictly one after another, so that a
 * switch finishes (drained, reconnected) before the next change is looked at. A switch that
 * fails is logged as the `client`'s; the next change is applied all the same.
 */
export function followInOrder(
  follower: RegionFollower,
  apply: (view: RegionView) => Promise<void>,
  logger: Logger,
  client: "consumer" | "producer",
): { started: Promise<void>; idle(): Promise<void>; stop(): void } {
  let chain: Promise<void> = Promise.resolve();
  const onError = (error: unknown) =>
    logger.error(
      { err: (error as Error).message },
      `could not switch the ${client}; waiting for the next change`,
    );
  const enqueue = (view: RegionView) => {
    chain = chain.then(() => apply(view)).catch(onError);
  };
  const unsubscribe = follower.onChange((view) => enqueue(view));
  // The first state may have arrived before this subscription; applying a state twice is harmless.
  const started = follower.ready().then(() => {
    enqueue(follower.current()!);
    return chain;
  });
  return { started, idle: () => chain, stop: unsubscribe };
}

/** A promise with its resolver, for gates. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * Runs `attempt` until it succeeds or `stopped()` says to give up, waiting the shared backoff
 * between failures: a client must reach the new active region even if it answers late.
 */
export async function untilDone(
  what: string,
  attempt: () => Promise<void>,
  stopped: () => boolean,
  logger: Logger,
): Promise<boolean> {
  const backoff = createBackoff({ initialMs: 200, maxMs: 5000 });
  while (!stopped()) {
    try {
      await attempt();
      return true;
    } catch (error) {
      const delayMs = backoff.next();
      logger.warn({ err: (error as Error).message, delayMs }, `${what} failed; retrying`);
      await sleep(delayMs);
    }
  }
  return false;
}

/**
 * Waits for `work` at most `ms`: leaving a region that failed (its brokers gone) must not stop
 * the client from following the failover. Resolves true when `work` finished in time.
 */
export async function within(ms: number, work: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
