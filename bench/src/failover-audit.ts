// What the `failover` benchmark checks beyond the group: which records acknowledged by us-east
// are really in eu-west (our replicated topic, MirrorMaker 2's), how the health service's
// records at risk compare with that, and what rate the producer reached and why.
import type { healthV1 } from "@geo/proto";
import type { Admin, Kafka } from "kafkajs";
import type { SequencedLoad } from "./failover-load";
import { sleep } from "./service-stack";

/**
 * The sequence numbers in `topic`, read from the beginning up to its end offsets of now by a
 * group of its own (nothing committed).
 */
export async function readSequences(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  timeoutMs: number,
): Promise<Set<number>> {
  const ends = await admin.fetchTopicOffsets(topic);
  const remaining = new Map(
    ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]),
  );
  const seqs = new Set<number>();
  if (remaining.size === 0) return seqs;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const consumer = kafka.consumer({ groupId: `bench-audit-${topic}-${Date.now()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) seqs.add(Number(message.value!.toString()));
        const end = remaining.get(batch.partition);
        if (end !== undefined && BigInt(batch.lastOffset()) + 1n >= end) {
          remaining.delete(batch.partition);
          if (remaining.size === 0) done();
        }
      },
    });
    const timedOut = sleep(timeoutMs).then(() => {
      throw new Error(`timed out reading ${topic}: ${remaining.size} partitions short of the end`);
    });
    await Promise.race([finished, timedOut]);
  } finally {
    await consumer.disconnect();
  }
  return seqs;
}

/** Records of `written` that `present` lacks. */
export function missingFrom(written: ReadonlySet<number>, present: ReadonlySet<number>): number {
  let missing = 0;
  for (const seq of written) if (!present.has(seq)) missing++;
  return missing;
}

const wallMs = (t: { seconds: bigint; nanos: number }) =>
  Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);

/** A failover's records at risk against the records missing in eu-west. */
export interface RiskCheck {
  /** The transition record's records at risk; undefined when it says unknown. */
  readonly reported: number | undefined;
  /** Milliseconds between the oldest lag measurement it used and the failover request. */
  readonly measuredBeforeMs: number | undefined;
  /**
   * Records us-east acknowledged after that measurement (or, with nothing behind and so no
   * measurement time reported, in the last two 2 s probe intervals before the kill): a lag
   * measured earlier cannot count them.
   */
  readonly writtenAfter: number;
  /** Per partition with records at risk, `partition:records`. */
  readonly byPartition: string;
}

export function checkRisk(
  record: healthV1.TransitionRecord,
  load: SequencedLoad,
  requestAt: number,
  killAt: number,
): RiskCheck {
  const toWall = (monotonic: number) => performance.timeOrigin + monotonic;
  const times = record.recordsAtRisk.flatMap((r) =>
    r.measureTime === undefined ? [] : [wallMs(r.measureTime)],
  );
  const measuredAt = times.length > 0 ? Math.min(...times) : undefined;
  const after = measuredAt ?? toWall(killAt - 4000);
  const acksAfter = load.sends.filter((s) => s.region === "us-east" && toWall(s.doneAt) > after);
  return {
    reported: record.rpoUnknown ? undefined : Number(record.rpoRecords),
    measuredBeforeMs: measuredAt === undefined ? undefined : toWall(requestAt) - measuredAt,
    writtenAfter: acksAfter.reduce((sum, s) => sum + s.records, 0),
    byPartition: record.recordsAtRisk.map((r) => `${r.partition}:${r.records}`).join(" "),
  };
}

/** The producer's rate and its requests (how many records each carried, their round trips). */
export function producerFigures(load: SequencedLoad) {
  const lastAnswer = load.sends.reduce((last, s) => Math.max(last, s.doneAt), load.startedAt);
  const seconds = (lastAnswer - load.startedAt) / 1000;
  const acked = load.sends.filter((s) => s.region !== undefined);
  const trips = acked.map((s) => s.doneAt - s.startAt).sort((a, b) => a - b);
  const sizes = acked.map((s) => s.records).sort((a, b) => a - b);
  const at = (sorted: readonly number[], q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    rate: seconds > 0 ? load.acked.size / seconds : 0,
    seconds,
    requests: acked.length,
    recordsPerRequest: { p50: at(sizes, 0.5), max: at(sizes, 1) },
    roundTripMs: {
      p50: Math.round(at(trips, 0.5)),
      p99: Math.round(at(trips, 0.99)),
      max: Math.round(at(trips, 1)),
    },
  };
}
