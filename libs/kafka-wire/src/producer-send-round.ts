import { DeliveryTimeoutError, RecordRejectedError } from "./kafka-wire-error";
import type { ProducerEnv } from "./producer-env";
import type { ProducerIds } from "./producer-ids";
import type { ProduceOutcomes } from "./producer-outcomes";
import { assignSequence, deadlineOf, type Entry, type PartitionState } from "./producer-partition";

/** One Produce request being filled: at most one batch per partition. */
interface RequestSlot {
  entries: Entry[];
  bytes: number;
}

/**
 * One round of sending: which partitions may send now (not failed, retrying or backing off,
 * with a producer id, under their in-flight limit, with a known leader), and their batches
 * spread over requests to each leader, a partition's batches in sequence order. Batches past
 * their deadline fail their partition here.
 */
export class SendRound {
  /** Topics whose metadata is unknown, stale or invalidated. */
  readonly needMetadata = new Set<string>();
  /** Per broker, the requests of this round: slot i is the i-th request to it. */
  readonly requests = new Map<number, RequestSlot[]>();

  constructor(
    private readonly env: ProducerEnv,
    private readonly outcomes: ProduceOutcomes,
    private readonly ids: ProducerIds,
    private readonly now: number,
  ) {}

  /** Takes what `p` may send now into this round's requests. */
  add(p: PartitionState): void {
    if (p.failed !== null || p.retrying || p.queue.length === 0) return;
    if (!this.mayStart(p)) return;
    const maxInFlight = p.confirmed ? this.env.settings.maxInFlight : 1;
    if (p.inflight.length >= maxInFlight) return;
    const nodeId = this.leaderOf(p);
    if (nodeId === undefined) return;
    // Batches of a partition in flight to another broker first settle: the new leader
    // would only answer OUT_OF_ORDER_SEQUENCE_NUMBER to what follows them.
    if (p.inflight.length > 0 && p.inflightNode !== nodeId) return;
    this.fillSlots(p, nodeId, maxInFlight);
  }

  /** Whether `p`'s head batch is still due, its backoff over and its producer id at hand. */
  private mayStart(p: PartitionState): boolean {
    const head = p.queue[0]!;
    if (deadlineOf(head) <= this.now) {
      this.outcomes.failPartition(
        p,
        new DeliveryTimeoutError(
          p.topic,
          p.partition,
          `batch not acknowledged before its deadline (${head.attempts} attempts)`,
        ),
        true,
      );
      return false;
    }
    if (p.backoffUntil > this.now) {
      this.env.scheduleWake(p.backoffUntil);
      return false;
    }
    if (p.pid === null || p.needsNewPid) {
      this.ids.obtainFor(p);
      return false;
    }
    return true;
  }

  /** The partition's leader, or undefined while it is unknown, unavailable or missing. */
  private leaderOf(p: PartitionState): number | undefined {
    const metadata = this.env.client.metadata;
    const leader = metadata.lookup(p.topic, p.partition);
    if (leader === undefined || metadata.isInvalidated(p.topic)) {
      // Unknown, or an error said the leader moved: wait for fresh metadata.
      this.needMetadata.add(p.topic);
      return undefined;
    }
    // Merely old: keep using it while a refresh runs.
    if (metadata.needsRefresh(p.topic, this.now)) this.needMetadata.add(p.topic);
    if (leader.kind === "missing") {
      this.onMissing(p, leader.errorCode);
      return undefined;
    }
    p.missingSince = null;
    if (leader.kind === "unavailable") {
      this.retryLater(p);
      return undefined;
    }
    return leader.nodeId;
  }

  /** The metadata has no such partition: looked up again for a grace period, then refused. */
  private onMissing(p: PartitionState, errorCode: number): void {
    p.missingSince ??= this.now;
    if (this.now - p.missingSince < this.env.settings.unknownPartitionGraceMs) {
      // Metadata cached before the partition was added: look again after a pause.
      this.retryLater(p);
      return;
    }
    this.outcomes.failPartition(
      p,
      new RecordRejectedError(
        errorCode,
        { topic: p.topic, partition: p.partition },
        {
          detail: "the target cluster's metadata has no such topic-partition",
        },
      ),
      true,
    );
  }

  private retryLater(p: PartitionState): void {
    this.env.client.metadata.invalidate(p.topic);
    p.backoffUntil = this.now + this.env.settings.retryBackoffMs;
    this.env.scheduleWake(p.backoffUntil);
  }

  /**
   * Moves `p`'s queued batches into requests to its leader. Slot i is the i-th request to this
   * broker in this round; a partition's batches go to increasing slots, one per request, so
   * they reach the broker in sequence order.
   */
  private fillSlots(p: PartitionState, nodeId: number, maxInFlight: number): void {
    let slots = this.requests.get(nodeId);
    if (slots === undefined) {
      slots = [];
      this.requests.set(nodeId, slots);
    }
    const maxRequestBytes = this.env.settings.maxRequestBytes;
    let slot = 0;
    while (p.queue.length > 0 && p.inflight.length < maxInFlight) {
      const e = p.queue[0]!;
      if (deadlineOf(e) <= this.now) break; // failed at the next drain, after what is in flight
      while (
        slot < slots.length &&
        slots[slot]!.entries.length > 0 &&
        slots[slot]!.bytes + e.raw.length > maxRequestBytes
      ) {
        slot++;
      }
      if (slot === slots.length) slots.push({ entries: [], bytes: 0 });
      const s = slots[slot]!;
      s.entries.push(e);
      s.bytes += e.raw.length;
      slot++;
      p.queue.shift();
      assignSequence(p, e);
      e.state = "inflight";
      e.attempts++;
      p.inflight.push(e);
      p.inflightNode = nodeId;
    }
  }
}
