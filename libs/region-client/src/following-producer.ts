// A kafkajs producer that follows the active region: while the region drains it holds new
// records (sends wait), lets those in flight finish, and after the flip reconnects to the new
// region's bootstrap servers and lets the held records go there. A record is written once, to
// one region: nothing is lost or repeated by a planned switch. In a failover the old region may
// never answer: its sends in flight are waited for at most `switchWaitMs`, then rejected to the
// caller with REGION_SWITCHED_OUTCOME_UNKNOWN. `close()` is bounded the same way (`closeWaitMs`):
// what is still pending then rejects with PRODUCER_CLOSED_OUTCOME_UNKNOWN (sent, unanswered) or
// PRODUCER_CLOSED (held, never sent).
import { CodedError } from "@geo/errors";
import type { Logger } from "@geo/logging";
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
  const state: ProducerState = {
    options,
    logger: componentLogger(options.logger, { component: "following-producer" }),
    switchWaitMs: options.switchWaitMs ?? DEFAULT_SWITCH_WAIT_MS,
    closeWaitMs: options.closeWaitMs ?? DEFAULT_CLOSE_WAIT_MS,
    connected: undefined,
    gate: deferred(),
    open: false,
    inFlight: new Set(),
    history: [],
    closed: false,
  };
  const following = followInOrder(
    options.follower,
    (view) => apply(state, view),
    state.logger,
    "producer",
  );
  return {
    start: () => following.started,
    send: (record) => send(state, record),
    region: () => (state.open ? state.connected?.region : undefined),
    inFlight: () => state.inFlight.size,
    history: state.history,
    close: () => close(state, following),
  };
}

/** What following, sending and closing share. */
interface ProducerState {
  readonly options: FollowingProducerOptions;
  readonly logger: Logger;
  readonly switchWaitMs: number;
  readonly closeWaitMs: number;
  connected: { region: string; producer: Producer } | undefined;
  /** Resolved while sends may go (open); replaced when a drain holds them. */
  gate: ReturnType<typeof deferred>;
  open: boolean;
  readonly inFlight: Set<PendingSend>;
  readonly history: string[];
  closed: boolean;
}

/** Rejects every send in flight with `error` (removed now: nothing must wait for them). */
function abandonInFlight(state: ProducerState, error: (region: string) => Error): number {
  const region = state.connected?.region ?? "the old region";
  const left = [...state.inFlight];
  state.inFlight.clear();
  for (const pending of left) pending.abandon(error(region));
  return left.length;
}

/** Holds new sends; waits for those in flight, at most `switchWaitMs` when `bounded`. */
async function hold(state: ProducerState, view: RegionView, bounded: boolean): Promise<void> {
  if (state.open) state.gate = deferred();
  state.open = false;
  const settled = Promise.allSettled([...state.inFlight].map((p) => p.settled));
  if (!bounded) await settled;
  if (!bounded || (await within(state.switchWaitMs, settled))) return;
  const { switchWaitMs } = state;
  const abandoned = abandonInFlight(state, (region) => outcomeUnknown(region, switchWaitMs));
  state.logger.warn(
    {
      region: state.connected?.region ?? "the old region",
      phase: healthV1.RegionPhase[view.phase],
      abandoned,
      switchWaitMs,
    },
    "the old region did not answer the sends in flight; rejected them as outcome unknown",
  );
}

async function apply(state: ProducerState, view: RegionView): Promise<void> {
  if (!view.open) {
    // A failover leaves a region that may never answer; a planned drain waits for it.
    await hold(state, view, view.phase === healthV1.RegionPhase.FAILING_OVER);
    state.logger.info(
      { activeRegion: view.activeRegion },
      "holding records while the region drains",
    );
    return;
  }
  if (state.connected?.region !== view.activeRegion) {
    await hold(state, view, true);
    if (!(await reconnect(state, view))) return;
  }
  state.open = true;
  state.gate.resolve();
}

/** Leaves the old region's brokers and connects to the active region's; false when closed. */
async function reconnect(state: ProducerState, view: RegionView): Promise<boolean> {
  const { options, logger } = state;
  // Bounded: the brokers of a region that failed may never answer.
  if (state.connected !== undefined)
    await within(
      10_000,
      state.connected.producer.disconnect().catch(() => undefined),
    );
  state.connected = undefined;
  const producer = kafkaFor(
    view,
    view.activeRegion,
    options.kafkaConfig,
    options.clientId ?? "geo-following-producer",
  ).producer(options.producerConfig ?? { idempotent: true, maxInFlightRequests: 1 });
  const reached = await untilDone(
    `connecting to ${view.activeRegion}`,
    () => producer.connect(),
    () => state.closed,
    logger,
  );
  if (!reached || state.closed) {
    // Closed while connecting: close() did not see this producer, so it is ours to end.
    await within(
      state.closeWaitMs,
      producer.disconnect().catch(() => undefined),
    );
    return false;
  }
  state.connected = { region: view.activeRegion, producer };
  state.history.push(view.activeRegion);
  logger.info(
    { region: view.activeRegion, epoch: String(view.epoch) },
    "producing to the active region",
  );
  return true;
}

async function send(state: ProducerState, record: ProducerRecord): Promise<RecordMetadata[]> {
  let connected: ProducerState["connected"];
  for (;;) {
    if (state.closed) throw closedBeforeSent();
    await state.gate.promise;
    // Checked after the await, before anything else runs: the send below is registered in
    // flight before a drain can start waiting for it.
    connected = state.connected;
    if (state.open && connected !== undefined && !state.closed) break;
  }
  const sending = connected.producer.send(record);
  let abandon!: (error: Error) => void;
  const abandoned = new Promise<never>((_, reject) => {
    abandon = reject;
  });
  // The race handles both: a send abandoned, then rejected by kafkajs, is no unhandled error.
  const pending: PendingSend = { settled: sending, abandon };
  state.inFlight.add(pending);
  try {
    return await Promise.race([sending, abandoned]);
  } finally {
    state.inFlight.delete(pending);
  }
}

async function close(
  state: ProducerState,
  following: ReturnType<typeof followInOrder>,
): Promise<void> {
  const { closeWaitMs } = state;
  state.closed = true;
  following.stop();
  state.gate.resolve(); // held sends wake up and reject as closed
  // A switch under way may itself be waiting for the sends in flight.
  const drained = Promise.allSettled([
    following.idle(),
    ...[...state.inFlight].map((p) => p.settled),
  ]);
  if (!(await within(closeWaitMs, drained))) {
    const region = state.connected?.region ?? "the old region";
    const abandoned = abandonInFlight(state, (r) => closedOutcomeUnknown(r, closeWaitMs));
    state.logger.warn(
      { region, abandoned, closeWaitMs },
      "closed with sends unanswered; rejected them as outcome unknown",
    );
  }
  // Bounded like a switch: the brokers of a failed region may never answer.
  if (state.connected !== undefined)
    await within(
      closeWaitMs,
      state.connected.producer.disconnect().catch(() => undefined),
    );
  state.connected = undefined;
}
