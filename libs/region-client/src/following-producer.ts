// A kafkajs producer that follows the active region: while the region drains it holds new
// records (sends wait), lets those in flight finish, and after the flip reconnects to the new
// region's bootstrap servers and lets the held records go there. A record is written once, to
// one region: nothing is lost or repeated by the switch.
import type { Producer, ProducerConfig, ProducerRecord, RecordMetadata } from "kafkajs";
import type { FollowingClient, FollowingClientOptions } from "./following-client";
import { componentLogger, type RegionView } from "./region-follower";
import { deferred, followInOrder, kafkaFor, untilDone, within } from "./region-switch";

export interface FollowingProducerOptions extends FollowingClientOptions {
  /** Default: idempotent with 1 request in flight per connection (ordered, no duplicates). */
  readonly producerConfig?: ProducerConfig;
}

/** `region()` is where it writes now; undefined while it holds records. */
export interface FollowingProducer extends FollowingClient {
  /** Sends to the active region; waits while a transition drains. */
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  /** Sends started and not yet answered (while holding, they finish in the old region). */
  inFlight(): number;
}

export function createFollowingProducer(options: FollowingProducerOptions): FollowingProducer {
  const logger = componentLogger(options.logger, { component: "following-producer" });
  let connected: { region: string; producer: Producer } | undefined;
  let gate = deferred();
  let open = false;
  const inFlight = new Set<Promise<unknown>>();
  const history: string[] = [];
  let closed = false;

  const hold = async () => {
    if (open) gate = deferred();
    open = false;
    await Promise.allSettled([...inFlight]);
  };
  const apply = async (view: RegionView) => {
    if (!view.open) {
      await hold();
      logger.info({ activeRegion: view.activeRegion }, "holding records while the region drains");
      return;
    }
    if (connected?.region !== view.activeRegion) {
      await hold();
      // Bounded: the brokers of a region that failed may never answer.
      if (connected !== undefined)
        await within(
          10_000,
          connected.producer.disconnect().catch(() => undefined),
        );
      connected = undefined;
      const producer = kafkaFor(
        view,
        view.activeRegion,
        options.kafkaConfig,
        options.clientId ?? "geo-following-producer",
      ).producer(options.producerConfig ?? { idempotent: true, maxInFlightRequests: 1 });
      const reached = await untilDone(
        `connecting to ${view.activeRegion}`,
        () => producer.connect(),
        () => closed,
        logger,
      );
      if (!reached) return;
      connected = { region: view.activeRegion, producer };
      history.push(view.activeRegion);
      logger.info(
        { region: view.activeRegion, epoch: String(view.epoch) },
        "producing to the active region",
      );
    }
    open = true;
    gate.resolve();
  };
  const following = followInOrder(options.follower, apply, logger, "producer");

  return {
    start: () => following.started,
    async send(record) {
      for (;;) {
        await gate.promise;
        // Checked after the await, before anything else runs: the send below is registered in
        // flight before a drain can start waiting for it.
        if (open && connected !== undefined) break;
      }
      const sending = connected.producer.send(record);
      inFlight.add(sending);
      try {
        return await sending;
      } finally {
        inFlight.delete(sending);
      }
    },
    region: () => (open ? connected?.region : undefined),
    inFlight: () => inFlight.size,
    history,
    async close() {
      closed = true;
      following.stop();
      await following.idle();
      await Promise.allSettled([...inFlight]);
      // Bounded like a switch: the brokers of a failed region may never answer.
      if (connected !== undefined)
        await within(
          10_000,
          connected.producer.disconnect().catch(() => undefined),
        );
      connected = undefined;
    },
  };
}
