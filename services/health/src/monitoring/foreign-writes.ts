// Writes into a remote (replicated) topic by anyone but an agent. The agents record, before
// their progress, which target offsets they wrote (offset-map segments). A target offset no
// segment covers was written by someone else, or by an agent whose segment is not written yet,
// or by a previous owner after its last progress (copies written again on takeover). The batch
// that holds such a record tells which: its producer id. Agents write with idempotent producers
// (one producer id per agent, flow and target); the id of the batch just before a gap, which a
// segment covers, is an agent's. So an uncovered batch is
// - an agent's when its producer id is one seen in a covered batch of the partition;
// - foreign otherwise, once it stayed uncovered for `graceMs` (an agent's new producer has its
//   segments written within a progress interval, which is far shorter).
// Only uncovered ranges are read: the covered ones (everything agents wrote) cost nothing.
import type { KafkaWireClient, PartitionFetcher } from "@geo/kafka-wire";
import { listOffsetsMany } from "@geo/kafka-wire";
import type { OffsetMapSegment } from "@geo/progress";
import { unitId } from "@geo/progress";
import type { PartitionLag } from "./flow-lag";
import type { MonitoredFlow } from "./monitored-flow";
import type { SegmentTail } from "./segment-tail";

/** Producer ids remembered per partition as agents' (a few owners over the partition's life). */
const MAX_AGENT_PRODUCERS = 16;
/** Fetches per partition and round at most: a long foreign run is read over several rounds. */
const MAX_FETCHES_PER_ROUND = 4;
const FETCH_MAX_BYTES = 1024 * 1024;

/** Offsets `[from, to)` of a remote partition that no agent segment covers. */
export type OffsetRange = readonly [from: bigint, to: bigint];

/** The ranges of `[from, end)` outside every segment (segments ordered by target start). */
export function uncoveredRanges(
  from: bigint,
  end: bigint,
  segments: readonly Pick<OffsetMapSegment, "targetStart" | "count">[],
): OffsetRange[] {
  const out: OffsetRange[] = [];
  let position = from;
  for (const s of segments) {
    if (position >= end) break;
    const segmentEnd = s.targetStart + s.count;
    if (segmentEnd <= position) continue;
    if (s.targetStart > position) out.push([position, s.targetStart < end ? s.targetStart : end]);
    position = segmentEnd; // above position: the segments ending at or below it were skipped
  }
  if (position < end) out.push([position, end]);
  return out;
}

export function covers(
  segments: readonly Pick<OffsetMapSegment, "targetStart" | "count">[],
  offset: bigint,
): boolean {
  return segments.some((s) => s.targetStart <= offset && offset < s.targetStart + s.count);
}

/** What the detector keeps per remote partition. */
export interface PartitionWatch {
  /** Every offset below was classified; undefined until the first round placed it. */
  checkedTo: bigint | undefined;
  /** Producer ids of batches a segment covers: agents' (most recent last). */
  readonly agentProducers: bigint[];
  /** The first uncovered batch of an unknown producer, and when it was first seen. */
  suspect: { offset: bigint; since: number } | undefined;
  foreign: bigint;
  lastForeign: { offset: bigint; producerId: bigint; time: number } | undefined;
}

export interface BatchView {
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  readonly producerId: bigint;
  readonly recordCount: number;
  records(): Iterable<{ offset: bigint }>;
}

/**
 * Walks the batches read for one uncovered range `[from, to)` from `watch.checkedTo` on, and
 * moves `watch.checkedTo`. The batch holding `agentOffset` (the covered record just before the
 * range, when there is one) is an agent's: its producer id is remembered. Returns the foreign
 * records counted; stops at a batch of an unknown producer still inside its grace period.
 */
export function classifyBatches(
  watch: PartitionWatch,
  range: OffsetRange,
  batches: readonly BatchView[],
  context: { now: number; graceMs: number; agentOffset: bigint | undefined },
): { foreign: bigint; stopped: boolean } {
  const to = range[1];
  const from =
    watch.checkedTo !== undefined && watch.checkedTo > range[0] ? watch.checkedTo : range[0];
  const agentOffset = context.agentOffset;
  let foreign = 0n;
  let stopped = false;
  for (const batch of batches) {
    if (
      agentOffset !== undefined &&
      batch.baseOffset <= agentOffset &&
      agentOffset <= batch.lastOffset
    ) {
      rememberAgent(watch, batch.producerId);
    }
    if (batch.lastOffset < from) continue;
    if (batch.baseOffset >= to) break;
    let inRange = 0n;
    for (const record of batch.records())
      if (record.offset >= from && record.offset < to) inRange++;
    if (inRange > 0n && !watch.agentProducers.includes(batch.producerId)) {
      if (watch.suspect?.offset !== batch.baseOffset) {
        watch.suspect = { offset: batch.baseOffset, since: context.now };
      }
      if (context.now - watch.suspect.since < context.graceMs) {
        stopped = true;
        break;
      }
      foreign += inRange;
      watch.lastForeign = {
        offset: batch.lastOffset,
        producerId: batch.producerId,
        time: context.now,
      };
    }
    watch.suspect = undefined;
    watch.checkedTo = batch.lastOffset + 1n < to ? batch.lastOffset + 1n : to;
  }
  watch.foreign += foreign;
  return { foreign, stopped };
}

function rememberAgent(watch: PartitionWatch, producerId: bigint): void {
  if (producerId < 0n || watch.agentProducers.includes(producerId)) return;
  watch.agentProducers.push(producerId);
  if (watch.agentProducers.length > MAX_AGENT_PRODUCERS) watch.agentProducers.shift();
}

export interface ForeignWriteReaders {
  /** Client and read_uncommitted fetcher of the flow's target cluster. */
  readonly client: KafkaWireClient;
  readonly fetcher: PartitionFetcher;
  readonly segments: SegmentTail;
}

export interface ForeignWriteReport {
  readonly flow: string;
  readonly target: string;
  readonly topic: string;
  readonly partition: number;
  readonly records: bigint;
  /** Every offset below was classified (undefined before the first check). */
  readonly checkedTo: bigint | undefined;
  readonly lastForeign: PartitionWatch["lastForeign"];
}

/**
 * Counts foreign writes in the remote partitions of the flows it is given, one `check` per flow
 * and round. Counts only grow; a flow no longer checked keeps its counts until `forget`.
 */
export class ForeignWriteDetector {
  private readonly watches = new Map<string, Map<string, PartitionWatch>>();

  constructor(
    private readonly options: {
      readonly graceMs: number;
      /** How old the segment tail's last read may be for a check to run. */
      readonly segmentsMaxAgeMs: number;
      onForeign?(report: ForeignWriteReport, added: bigint): void;
      onWatched?(report: ForeignWriteReport): void;
    },
  ) {}

  async check(
    flow: MonitoredFlow,
    partitions: readonly PartitionLag[],
    readers: ForeignWriteReaders,
  ): Promise<void> {
    // Before the segments are read to their end, every agent record would look uncovered.
    if (!readers.segments.current(this.options.segmentsMaxAgeMs)) return;
    let watches = this.watches.get(flow.name);
    if (watches === undefined) {
      watches = new Map();
      this.watches.set(flow.name, watches);
    }
    const ends = await listOffsetsMany(
      readers.client,
      partitions.map((p) => ({ topic: p.remoteTopic, partition: p.partition })),
      "latest",
      { timeoutMs: 5000, isolationLevel: "read_uncommitted" },
    );
    for (const p of partitions) {
      const end = ends.get(`${p.remoteTopic}\u0000${p.partition}`);
      if (end === undefined || !("offset" in end)) continue; // not created yet, or unreadable
      const key = `${p.remoteTopic}\u0000${p.partition}`;
      let watch = watches.get(key);
      if (watch === undefined) {
        watch = newWatch();
        watches.set(key, watch);
        this.options.onWatched?.(this.report(flow, p, watch));
      }
      await this.checkPartition(flow, p, watch, end.offset, readers);
    }
  }

  private async checkPartition(
    flow: MonitoredFlow,
    p: PartitionLag,
    watch: PartitionWatch,
    end: bigint,
    readers: ForeignWriteReaders,
  ): Promise<void> {
    const segments = readers.segments.segments(
      unitId({ flow: flow.name, sourceTopic: p.sourceTopic, partition: p.partition }),
    );
    if (watch.checkedTo === undefined) {
      watch.checkedTo = segments[0]?.targetStart ?? (await logStart(readers, p));
    }
    let fetches = 0;
    for (const range of uncoveredRanges(watch.checkedTo, end, segments)) {
      const agentOffset =
        range[0] > 0n && covers(segments, range[0] - 1n) ? range[0] - 1n : undefined;
      let position = agentOffset ?? range[0];
      while (watch.checkedTo < range[1]) {
        if (fetches++ >= MAX_FETCHES_PER_ROUND) return;
        const [result] = await readers.fetcher.fetch(
          [
            {
              topic: p.remoteTopic,
              partition: p.partition,
              offset: position,
              maxBytes: FETCH_MAX_BYTES,
            },
          ],
          { maxWaitMs: 0 },
        );
        if (result === undefined || result.error !== null) return; // read again next round
        if (result.batches.length === 0 && result.nextOffset <= position) return;
        const outcome = classifyBatches(watch, range, result.batches, {
          now: Date.now(),
          graceMs: this.options.graceMs,
          agentOffset,
        });
        if (outcome.foreign > 0n)
          this.options.onForeign?.(this.report(flow, p, watch), outcome.foreign);
        if (outcome.stopped) return;
        // Everything below the fetch's next offset was classified (control batches included).
        // biome-ignore lint/complexity/useMathMinMax: bigint offsets (Math.min takes numbers)
        const next = result.nextOffset < range[1] ? result.nextOffset : range[1];
        if (next > watch.checkedTo) watch.checkedTo = next;
        position = result.nextOffset;
      }
    }
    if (end > watch.checkedTo) watch.checkedTo = end;
  }

  /** Every watched partition with its count, by flow, topic and partition. */
  reports(flows?: readonly MonitoredFlow[]): ForeignWriteReport[] {
    const out: ForeignWriteReport[] = [];
    for (const flow of flows ?? []) {
      for (const [key, watch] of this.watches.get(flow.name) ?? []) {
        const [topic, partition] = key.split("\u0000");
        out.push({
          flow: flow.name,
          target: flow.target,
          topic: topic!,
          partition: Number(partition),
          records: watch.foreign,
          checkedTo: watch.checkedTo,
          lastForeign: watch.lastForeign,
        });
      }
    }
    return out;
  }

  /** Foreign records counted in the flow's remote partitions since monitoring began. */
  total(flow: string): bigint {
    let sum = 0n;
    for (const watch of this.watches.get(flow)?.values() ?? []) sum += watch.foreign;
    return sum;
  }

  forget(flow: string): void {
    this.watches.delete(flow);
  }

  private report(flow: MonitoredFlow, p: PartitionLag, watch: PartitionWatch): ForeignWriteReport {
    return {
      flow: flow.name,
      target: flow.target,
      topic: p.remoteTopic,
      partition: p.partition,
      records: watch.foreign,
      checkedTo: watch.checkedTo,
      lastForeign: watch.lastForeign,
    };
  }
}

function newWatch(): PartitionWatch {
  return {
    checkedTo: undefined,
    agentProducers: [],
    suspect: undefined,
    foreign: 0n,
    lastForeign: undefined,
  };
}

async function logStart(readers: ForeignWriteReaders, p: PartitionLag): Promise<bigint> {
  const [start] = await readers.client.listOffsets(p.remoteTopic, [p.partition], "earliest", {
    timeoutMs: 5000,
  });
  return start!.offset;
}
