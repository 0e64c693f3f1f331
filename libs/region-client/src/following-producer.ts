// A kafkajs producer that follows the active region: while the region drains it holds new
// records (sends wait), lets those in flight finish, and after the flip reconnects to the new
// region's bootstrap servers and lets the held records go there. A record is written once, to
// one region: nothing is lost or repeated by a planned switch. In a failover the old region may
// never answer: its sends in flight are waited for at most `switchWaitMs`, then rejected to the
// caller with REGION_SWITCHED_OUTCOME_UNKNOWN. `close()` is bounded the same way (`closeWaitMs`):
// what is still pending then rejects with PRODUCER_CLOSED_OUTCOME_UNKNOWN (sent, unanswered) or
// PRODUCER_CLOSED (held, never sent).
import { CodedError } from "@geo/errors";
import { healthV1 } from "@geo/proto";
import type { Producer, ProducerConfig, ProducerRecord, RecordMetadata } from "kafkajs";
import type { FollowingClient, FollowingClientOptions } from "./following-client";
import { componentLogger, type RegionView } from "./region-follower";
import { deferred, followInOrder, kafkaFor, untilDone, within } from "./region-switch";

/** A send in flight when the active region moved away without answering it. */
export const REGION_SWITCHED_OUTCOME_UNKNOWN = "REGION_SWITCHED_OUTCOME_UNKNOWN";
/** A send in flight when `close()` stopped waiting for its answer. */
export const PRODUCER_CLOSED_OUTCOME_UNKNOWN = "PRODUCER_CLOSED_OUTCOME_UNKNOWN";
/** A send held (during a drain) or made after `close()`: not written anywhere. */
export const PRODUCER_CLOSED = "PRODUCER_CLOSED";

export interface FollowingProducerOptions extends FollowingClientOptions {
  /** Default: idempotent with 1 request in flight per connection (ordered, no duplicates). */
  readonly producerConfig?: ProducerConfig;
  /**
   * How long a failover (or a move of the active region) waits for the sends in flight to the
   * old region before rejecting them with REGION_SWITCHED_OUTCOME_UNKNOWN and resuming in the
   * new one. A planned drain (switchover, failback) waits for them without a bound. Default 3 s.
   */
  readonly switchWaitMs?: number;
  /**
   * How long `close()` waits for the sends in flight (kafkajs retries one to a dead broker for
   * its whole retry budget) before rejecting them with PRODUCER_CLOSED_OUTCOME_UNKNOWN and
   * disconnecting; the disconnect is bounded by it too. Default 3 s.
   */
  readonly closeWaitMs?: number;
}

/** `region()` is where it writes now; undefined while it holds records. */
export interface FollowingProducer extends FollowingClient {
  /**
   * Sends to the active region; waits while a transition drains. Rejects with a retriable
   * CodedError REGION_SWITCHED_OUTCOME_UNKNOWN when the region moved away without answering,
   * PRODUCER_CLOSED_OUTCOME_UNKNOWN when closed without an answer, PRODUCER_CLOSED when closed
   * before it was sent.
   */
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  /** Sends started and not yet answered (while holding, they finish in the old region). */
  inFlight(): number;
}

interface PendingSend {
  readonly settled: Promise<unknown>;
  abandon(error: Error): void;
}

const DEFAULT_SWITCH_WAIT_MS = 3000;
const DEFAULT_CLOSE_WAIT_MS = 3000;

function outcomeUnknown(region: string, waitMs: number): CodedError {
  return new CodedError(
    REGION_SWITCHED_OUTCOME_UNKNOWN,
    `the active region moved away from ${region}, which did not answer this send within ${waitMs} ms: whether ${region} wrote the record is unknown (it may be among the failover's records at risk); sending it again writes it in the new active region`,
    { retriable: true },
  );
}

function closedOutcomeUnknown(region: string, waitMs: number): CodedError {
  return new CodedError(
    PRODUCER_CLOSED_OUTCOME_UNKNOWN,
    `the producer was closed while this send to ${region} was unanswered for ${waitMs} ms: whether ${region} wrote the record is unknown; sending it again (another producer) may write it twice`,
    { retriable: true },
  );
}

const closedBeforeSent = () =>
  new CodedError(
    PRODUCER_CLOSED,
    "the producer was closed before this record was sent: it was not written",
    { retriable: true },
  );

export function createFollowingProducer(options: FollowingProducerOptions): FollowingProducer {
  const logger = componentLogger(options.logger, { component: "following-producer" });
  const switchWaitMs = options.switchWaitMs ?? DEFAULT_SWITCH_WAIT_MS;
  const closeWaitMs = options.closeWaitMs ?? DEFAULT_CLOSE_WAIT_MS;
  let connected: { region: string; producer: Producer } | undefined;
  let gate = deferred();
  let open = false;
  const inFlight = new Set<PendingSend>();
  const history: string[] = [];
  let closed = false;

  /** Holds new sends; waits for those in flight, at most `switchWaitMs` when `bounded`. */
  const hold = async (view: RegionView, bounded: boolean): Promise<void> => {
    if (open) gate = deferred();
    open = false;
    const settled = Promise.allSettled([...inFlight].map((p) => p.settled));
    if (!bounded) await settled;
    if (!bounded || (await within(switchWaitMs, settled))) return;
    const left = [...inFlight];
    const from = connected?.region ?? "the old region";
    for (const pending of left) {
      // Removed now, not when the caller's await resumes: the next change must not wait for it.
      inFlight.delete(pending);
      pending.abandon(outcomeUnknown(from, switchWaitMs));
    }
    logger.warn(
      {
        region: from,
        phase: healthV1.RegionPhase[view.phase],
        abandoned: left.length,
        switchWaitMs,
      },
      "the old region did not answer the sends in flight; rejected them as outcome unknown",
    );
  };
  const abandonOnClose = () => {
    const region = connected?.region ?? "the old region";
    const left = [...inFlight];
    inFlight.clear();
    for (const pending of left) pending.abandon(closedOutcomeUnknown(region, closeWaitMs));
    logger.warn(
      { region, abandoned: left.length, closeWaitMs },
      "closed with sends unanswered; rejected them as outcome unknown",
    );
  };
  const apply = async (view: RegionView) => {
    if (!view.open) {
      // A failover leaves a region that may never answer; a planned drain waits for it.
      await hold(view, view.phase === healthV1.RegionPhase.FAILING_OVER);
      logger.info({ activeRegion: view.activeRegion }, "holding records while the region drains");
      return;
    }
    if (connected?.region !== view.activeRegion) {
      await hold(view, true);
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
      if (!reached || closed) {
        // Closed while connecting: close() did not see this producer, so it is ours to end.
        await within(
          closeWaitMs,
          producer.disconnect().catch(() => undefined),
        );
        return;
      }
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
        if (closed) throw closedBeforeSent();
        await gate.promise;
        // Checked after the await, before anything else runs: the send below is registered in
        // flight before a drain can start waiting for it.
        if (open && connected !== undefined && !closed) break;
      }
      const sending = connected.producer.send(record);
      let abandon!: (error: Error) => void;
      const abandoned = new Promise<never>((_, reject) => {
        abandon = reject;
      });
      // The race handles both: a send abandoned, then rejected by kafkajs, is no unhandled error.
      const pending: PendingSend = { settled: sending, abandon };
      inFlight.add(pending);
      try {
        return await Promise.race([sending, abandoned]);
      } finally {
        inFlight.delete(pending);
      }
    },
    region: () => (open ? connected?.region : undefined),
    inFlight: () => inFlight.size,
    history,
    async close() {
      closed = true;
      following.stop();
      gate.resolve(); // held sends wake up and reject as closed
      // A switch under way may itself be waiting for the sends in flight.
      const drained = Promise.allSettled([
        following.idle(),
        ...[...inFlight].map((p) => p.settled),
      ]);
      if (!(await within(closeWaitMs, drained))) abandonOnClose();
      // Bounded like a switch: the brokers of a failed region may never answer.
      if (connected !== undefined)
        await within(
          closeWaitMs,
          connected.producer.disconnect().catch(() => undefined),
        );
      connected = undefined;
    },
  };
}
