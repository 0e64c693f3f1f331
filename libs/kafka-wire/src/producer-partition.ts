import type { KafkaWireError } from "./kafka-wire-error";
import type { ProduceResult } from "./produce-types";

/** A producer id, and the generation that orders the ids this producer obtained. */
export interface PidInfo {
  producerId: bigint;
  producerEpoch: number;
  gen: number;
}

export type EntryState = "queued" | "inflight" | "retry" | "done";

/** One batch on its way: queued, in flight, waiting to be re-sent, or settled. */
export interface Entry {
  p: PartitionState;
  raw: Buffer;
  recordCount: number;
  lastOffsetDelta: number;
  /** Fixed part of the deadline (the delivery timeout, a deadline given as a number). */
  deadline: number;
  /** The moving part, asked each time (see ProduceOptions.deadline); null when none. */
  movingDeadline: (() => number) | null;
  seq: number | null;
  producerId: bigint;
  producerEpoch: number;
  attempts: number;
  state: EntryState;
  settled: Promise<unknown>;
  resolve(r: ProduceResult): void;
  reject(e: Error): void;
}

/** The sequence bookkeeping and batches of one partition. */
export interface PartitionState {
  topic: string;
  partition: number;
  key: string;
  pid: PidInfo | null;
  /** The producer id in use is burnt for this partition: take one newer than `pid.gen`. */
  needsNewPid: boolean;
  /** Newer than this generation when the state is new after a reset. */
  minGen: number;
  pidPending: boolean;
  nextSeq: number;
  /**
   * Whether the broker has acknowledged a batch of this partition under the current
   * producer id. Until then one batch at a time: a broker with no state for the producer
   * accepts any sequence, so a batch behind a refused first one would be written.
   */
  confirmed: boolean;
  queue: Entry[];
  /** Sent and not acknowledged, in sequence order (state inflight or retry). */
  inflight: Entry[];
  inflightNode: number | null;
  retrying: boolean;
  failed: KafkaWireError | null;
  backoffUntil: number;
  /** Since when the metadata says the partition does not exist (monotonic ms); null: it does. */
  missingSince: number | null;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function newPartitionState(
  topic: string,
  partition: number,
  minGen: number,
): PartitionState {
  return {
    topic,
    partition,
    key: partitionKey(topic, partition),
    pid: null,
    needsNewPid: false,
    minGen,
    pidPending: false,
    nextSeq: 0,
    confirmed: false,
    queue: [],
    inflight: [],
    inflightNode: null,
    retrying: false,
    failed: null,
    backoffUntil: 0,
    missingSince: null,
  };
}

const MAX_SEQ = 0x7fffffff;

/** Kafka's sequence arithmetic: sequences wrap from int32 max to 0. */
export function incrementSequence(seq: number, count: number): number {
  return seq > MAX_SEQ - count ? count - (MAX_SEQ - seq) - 1 : seq + count;
}

/** Stamps a batch about to be sent for the first time with the partition's next sequence. */
export function assignSequence(p: PartitionState, e: Entry): void {
  if (e.seq !== null || p.pid === null) return;
  e.seq = p.nextSeq;
  e.producerId = p.pid.producerId;
  e.producerEpoch = p.pid.producerEpoch;
  p.nextSeq = incrementSequence(p.nextSeq, e.recordCount);
}

/** The batch's deadline now: the earlier of its fixed and its moving part. */
export function deadlineOf(e: Entry): number {
  if (e.movingDeadline === null) return e.deadline;
  let moving: number;
  try {
    moving = e.movingDeadline();
  } catch {
    return -Infinity;
  }
  return Number.isNaN(moving) ? -Infinity : Math.min(e.deadline, moving);
}

export function removeEntry(list: Entry[], e: Entry): void {
  const i = list.indexOf(e);
  if (i >= 0) list.splice(i, 1);
}
