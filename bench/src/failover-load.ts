// The applications of the `failover` benchmark: a sequenced producer and the consumer group
// `billing`, both following the flow group's active region with @geo/region-client, and what
// the group saw; then MirrorMaker 2's procedure for the same group: seek to RemoteClusterUtils'
// answer in eu-west and read its remote topic to the end.
import type { Logger } from "@geo/logging";
import {
  createFollowingConsumer,
  createFollowingProducer,
  createRegionFollower,
  type FollowingConsumer,
  type FollowingProducer,
  type RegionFollower,
} from "@geo/region-client";
import type { Kafka } from "kafkajs";
import {
  caughtUp,
  type FailoverStack,
  FLOW_GROUP,
  GROUP,
  MM2_REMOTE,
  PARTITIONS,
  REMOTE,
  TOPIC,
} from "./failover-stack";
import type { TranslatedOffset } from "./mirror-maker";
import { now, sleep, waitUntil } from "./service-stack";

/** A record as the group handled it. */
export interface Handled {
  readonly seq: number;
  readonly region: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly at: number;
}

export interface SequencedLoad {
  /** seq → region that acknowledged it. */
  readonly acked: Map<number, string>;
  /** Batches acknowledged, with the time and region. */
  readonly acks: { at: number; region: string }[];
  /** Every produce request, in the order answered. */
  readonly sends: readonly SendRecord[];
  readonly handled: Handled[];
  /** When the first record was offered (monotonic ms). */
  readonly startedAt: number;
  /** Records whose send was rejected (the region died under them); not expected anywhere. */
  failed(): number;
  /** Records offered to the producer. */
  sent(): number;
  /** Records not offered because the application's buffer was full. */
  notOffered(): number;
  /** Stops offering; resolves when every offered record was answered (or `timeoutMs` passed). */
  stopWriting(timeoutMs: number): Promise<void>;
  /** Waits until the group committed to the end of its topics in eu-west, then leaves. */
  finishReading(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

const TICK_MS = 20;
/**
 * Records one produce request carries at most (12 batches of about 800 small records). kafkajs
 * does not batch across send() calls, and its idempotent producer sends one request per broker
 * at a time (its broker lock): with one send per 20 ms tick the rate was 100 records per round
 * trip, below 5,000 records/s once a loaded machine made round trips longer than 20 ms, and the
 * sends queued without end behind the lock (the backlog held at a transition came on top). So
 * the application does what the Java producer's accumulator does: everything offered while a
 * request is out goes in the next one.
 */
const MAX_RECORDS_PER_SEND = 10_000;
/** The application's buffer: 60 s of records; past it the writer stops offering (a lower rate). */
const MAX_BUFFERED_SECONDS = 60;

export async function startSequencedLoad(
  stack: FailoverStack,
  perSecond: number,
  logger: Logger,
): Promise<SequencedLoad> {
  const follower = createRegionFollower({
    healthAddress: stack.healthAddress,
    flowGroup: FLOW_GROUP,
    logger,
  });
  const producer = createFollowingProducer({ follower, logger, clientId: "bench-producer" });
  const handled: Handled[] = [];
  const consumer = createFollowingConsumer({
    follower,
    groupId: GROUP,
    topics: (region) => (region === "us-east" ? [TOPIC] : [TOPIC, REMOTE]),
    // The transition commits `billing` (flowGroups[].consumerGroups) into eu-west itself.
    commitTranslated: async () => {},
    eachMessage: async ({ partition, message, region }) => {
      handled.push({
        seq: Number(message.value!.toString()),
        region,
        partition,
        offset: BigInt(message.offset),
        at: now(),
      });
    },
    leaveTimeoutMs: 5_000,
    logger,
    clientId: "bench-consumer",
  });
  await Promise.all([producer.start(), consumer.start()]);
  const writer = startWriter(producer, perSecond);
  return {
    ...writer,
    handled,
    async finishReading(timeoutMs) {
      await waitUntil(
        `${GROUP} at the end of ${TOPIC} and ${REMOTE} in eu-west`,
        async () =>
          consumer.region() === "eu-west" &&
          (await caughtUp(stack.admins[1]!, GROUP, [TOPIC, REMOTE]))
            ? true
            : undefined,
        { timeoutMs, intervalMs: 500 },
      );
      await consumer.close();
    },
    close: () => closeClients(producer, consumer, follower),
  };
}

/** One produce request as the application saw it. */
export interface SendRecord {
  readonly records: number;
  /** Monotonic ms: handed to the following producer, answered. */
  readonly startAt: number;
  readonly doneAt: number;
  /** Region that acknowledged it; undefined when rejected. */
  readonly region: string | undefined;
}

function startWriter(producer: FollowingProducer, perSecond: number) {
  const acked = new Map<number, string>();
  const acks: { at: number; region: string }[] = [];
  const sends: SendRecord[] = [];
  const perTick = Math.max(1, Math.round((perSecond * TICK_MS) / 1000));
  const maxBuffered = perSecond * MAX_BUFFERED_SECONDS;
  // Records are numbered in order: [unsent, offered) waits in the buffer.
  let offered = 0;
  let unsent = 0;
  let notOffered = 0;
  let failed = 0;
  let sending: Promise<void> | undefined;
  // A send in flight when the producer began holding finishes in the region it started in.
  let lastRegion = "?";
  const sendBuffered = () => {
    if (sending !== undefined || unsent === offered) return;
    const first = unsent;
    const end = Math.min(offered, first + MAX_RECORDS_PER_SEND);
    unsent = end;
    const messages = [];
    for (let seq = first; seq < end; seq++) {
      messages.push({ partition: seq % PARTITIONS, value: String(seq) });
    }
    const startAt = now();
    sending = producer.send({ topic: TOPIC, messages }).then(
      () => {
        const region = producer.region() ?? lastRegion;
        lastRegion = region;
        for (let seq = first; seq < end; seq++) acked.set(seq, region);
        acks.push({ at: now(), region });
        sends.push({ records: end - first, startAt, doneAt: now(), region });
      },
      () => {
        failed += end - first;
        sends.push({ records: end - first, startAt, doneAt: now(), region: undefined });
      },
    );
    void sending.finally(() => {
      sending = undefined;
      sendBuffered();
    });
  };
  let stop = false;
  const startedAt = now();
  const writing = (async () => {
    for (let tick = 1; !stop; tick++) {
      // An application's bounded buffer: while it is full (the producer holds), nothing is offered.
      if (offered - unsent + perTick <= maxBuffered) offered += perTick;
      else notOffered += perTick;
      sendBuffered();
      const wait = startedAt + tick * TICK_MS - now();
      if (wait > 0) await sleep(wait);
    }
  })();
  return {
    startedAt,
    acked,
    acks,
    sends,
    failed: () => failed,
    sent: () => offered,
    notOffered: () => notOffered,
    async stopWriting(timeoutMs: number) {
      stop = true;
      await writing;
      const deadline = now() + timeoutMs;
      while ((sending !== undefined || unsent < offered) && now() < deadline) await sleep(TICK_MS);
    },
  };
}

async function closeClients(
  producer: FollowingProducer,
  consumer: FollowingConsumer,
  follower: RegionFollower,
): Promise<void> {
  // Clients of a dead region can hang in kafkajs retries: bounded, the process exits after.
  const bounded = (work: Promise<unknown>) =>
    Promise.race([work.catch(() => undefined), sleep(10_000)]);
  await bounded(producer.close());
  await bounded(consumer.close());
  await bounded(follower.close());
}

/**
 * MirrorMaker 2's procedure for the group in eu-west: commit RemoteClusterUtils' answer (what a
 * seek does) for `billing` on `east.orders` (partitions without an answer start at the beginning),
 * read to the end; the sequence numbers read, in order.
 */
export async function readAfterMm2Seek(
  kafka: Kafka,
  stack: FailoverStack,
  answer: readonly TranslatedOffset[],
  timeoutMs: number,
): Promise<number[]> {
  const admin = stack.admins[1]!;
  const mine = answer.filter((o) => o.topic === MM2_REMOTE);
  if (mine.length > 0) {
    await admin.setOffsets({
      groupId: GROUP,
      topic: MM2_REMOTE,
      partitions: mine.map((o) => ({ partition: o.partition, offset: String(o.offset) })),
    });
  }
  const read: number[] = [];
  const consumer = kafka.consumer({ groupId: GROUP });
  await consumer.connect();
  await consumer.subscribe({ topics: [MM2_REMOTE], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      read.push(Number(message.value!.toString()));
    },
  });
  try {
    await waitUntil(
      `${GROUP} at the end of ${MM2_REMOTE}`,
      async () => ((await caughtUp(admin, GROUP, [MM2_REMOTE])) ? true : undefined),
      { timeoutMs, intervalMs: 500 },
    );
  } finally {
    await consumer.disconnect();
  }
  return read;
}

/** Duplicates and misses among `expected` in what was read (records outside it are ignored). */
export function sequenceCheck(read: Iterable<number>, expected: ReadonlySet<number>) {
  const counts = new Map<number, number>();
  for (const seq of read) if (expected.has(seq)) counts.set(seq, (counts.get(seq) ?? 0) + 1);
  let duplicates = 0;
  for (const count of counts.values()) duplicates += count - 1;
  return { duplicates, misses: expected.size - counts.size };
}
