// What decides "nothing lost" after faults: the target's copy of each partition compared with the
// source record by record, and the fencing epochs the agents recorded in the target's progress.
import assert from "node:assert/strict";
import { GEO_TOPICS } from "@geo/config";
import { createPartitionFetcher } from "@geo/kafka-wire";
import { decodeProgressRecord, unitId } from "@geo/progress";
import { endOffset, readPartition, type Side, SOURCE } from "./replication-fixtures";
import { waitFor } from "./wait-for";

export interface ReplicaComparison {
  /** Source records. */
  total: number;
  /** Source records absent from the target. */
  missing: number;
  /** Target records that repeat an earlier one (a re-delivered window after a takeover). */
  duplicates: number;
  /** First copies that are not the next source record. */
  outOfOrder: number;
  /** `topic/partition` → duplicates there, for partitions that have any. */
  duplicatesByPartition: Map<string, number>;
  /** `topic/partition` → how many records are missing there and the source offsets of the first. */
  missingByPartition: Map<string, { count: number; firstOffsets: bigint[] }>;
  /**
   * The deepest re-delivery: how many records behind the furthest one copied a repeat went back.
   * Resends of an unacknowledged window stay shallow; a unit restarting from an old position
   * (progress lost or ignored) goes deep.
   */
  maxRewind: number;
}

export const remoteOf = (topic: string) => `${SOURCE}.${topic}`;

/** Source positions to compare up to, by `topic/partition` (see sourceEnds). */
export type Positions = ReadonlyMap<string, bigint>;

/** The end offset of every partition now. */
export async function sourceEnds(
  source: Side,
  topics: readonly string[],
  partitions: number,
): Promise<Positions> {
  const ends = new Map<string, bigint>();
  for (const topic of topics) {
    for (let partition = 0; partition < partitions; partition++) {
      ends.set(`${topic}/${partition}`, await endOffset(source, topic, partition));
    }
  }
  return ends;
}

/**
 * Per partition: the target's values with repeats dropped must be the source's values, in order.
 * Values must be unique within a source partition (tests write sequence numbers). With `upTo`,
 * only the source records before those positions must be there (a load may still be running).
 */
export async function compareReplica(
  source: Side,
  target: Side,
  topics: readonly string[],
  partitions: number,
  upTo?: Positions,
): Promise<ReplicaComparison> {
  const result: ReplicaComparison = {
    total: 0,
    missing: 0,
    duplicates: 0,
    outOfOrder: 0,
    duplicatesByPartition: new Map(),
    missingByPartition: new Map(),
    maxRewind: 0,
  };
  for (const topic of topics) {
    for (let partition = 0; partition < partitions; partition++) {
      const end = upTo?.get(`${topic}/${partition}`);
      const sourceRecords = (await readPartition(source, topic, partition)).filter(
        (r) => end === undefined || r.offset < end,
      );
      const sourceValues = sourceRecords.map((r) => r.value?.toString());
      const targetValues = (await readPartition(target, remoteOf(topic), partition)).map((r) =>
        r.value?.toString(),
      );
      result.total += sourceValues.length;
      const indexOf = new Map(sourceValues.map((value, i) => [value, i]));
      const seen = new Set<string | undefined>();
      let cursor = 0;
      let duplicates = 0;
      for (const value of targetValues) {
        if (seen.has(value)) {
          duplicates += 1;
          const at = indexOf.get(value);
          if (at !== undefined) result.maxRewind = Math.max(result.maxRewind, cursor - at);
          continue;
        }
        seen.add(value);
        if (cursor < sourceValues.length && value !== sourceValues[cursor]) result.outOfOrder += 1;
        cursor += 1;
      }
      const missing = sourceRecords.filter((r) => !seen.has(r.value?.toString()));
      result.missing += missing.length;
      if (missing.length > 0) {
        result.missingByPartition.set(`${topic}/${partition}`, {
          count: missing.length,
          firstOffsets: missing.slice(0, 5).map((r) => r.offset),
        });
      }
      result.duplicates += duplicates;
      if (duplicates > 0) result.duplicatesByPartition.set(`${topic}/${partition}`, duplicates);
    }
  }
  return result;
}

/** Sum of the partitions' end offsets. */
export async function totalEnd(
  side: Side,
  topics: readonly string[],
  partitions: number,
): Promise<bigint> {
  let sum = 0n;
  for (const topic of topics) {
    const offsets = await side.wire.listOffsets(
      topic,
      Array.from({ length: partitions }, (_, p) => p),
      "latest",
      { isolationLevel: "read_uncommitted" },
    );
    for (const o of offsets) sum += o.offset;
  }
  return sum;
}

/**
 * Waits until the target holds every source record (cheaply gated on end offsets, as the full
 * comparison reads everything), then returns the comparison; on timeout, the last comparison.
 */
export async function waitForReplica(
  source: Side,
  target: Side,
  topics: readonly string[],
  partitions: number,
  { upTo, timeoutMs = 60_000 }: { upTo?: Positions; timeoutMs?: number } = {},
): Promise<ReplicaComparison> {
  let last: ReplicaComparison | undefined;
  try {
    await waitFor(
      "the target to hold every source record",
      async () => {
        for (const topic of topics) {
          for (let partition = 0; partition < partitions; partition++) {
            const [s, t] = await Promise.all([
              upTo?.get(`${topic}/${partition}`) ?? endOffset(source, topic, partition),
              endOffset(target, remoteOf(topic), partition),
            ]);
            if (t < s) return false;
          }
        }
        last = await compareReplica(source, target, topics, partitions, upTo);
        return last.missing === 0;
      },
      { timeoutMs, intervalMs: 500 },
    );
  } catch (error) {
    if (last === undefined) throw error;
  }
  return last ?? (await compareReplica(source, target, topics, partitions, upTo));
}

export interface EpochWrite {
  epoch: bigint;
  agentId: string;
  offset: bigint;
}

/** Every progress record (not tombstones) in the target, per unit id, in log order. */
export async function progressHistory(target: Side): Promise<Map<string, EpochWrite[]>> {
  const history = new Map<string, EpochWrite[]>();
  for (const record of await readPartition(target, GEO_TOPICS.progress, 0)) {
    const { unit, epoch, progress } = decodeProgressRecord(record.key, record.value);
    if (progress === null) continue;
    const id = unitId(unit);
    const list = history.get(id) ?? [];
    list.push({ epoch, agentId: progress.agentId, offset: record.offset });
    history.set(id, list);
  }
  return history;
}

/**
 * What fencing forbids, as the progress log shows it: a unit's epoch going back (a deposed owner
 * writing after its successor), or one epoch written by two agents (two owners at once).
 */
export function epochViolations(history: ReadonlyMap<string, readonly EpochWrite[]>): string[] {
  const violations: string[] = [];
  for (const [id, writes] of history) {
    const writerOf = new Map<bigint, string>();
    let previous: EpochWrite | undefined;
    for (const write of writes) {
      if (previous !== undefined && write.epoch < previous.epoch) {
        violations.push(
          `${id}: epoch ${write.epoch} by ${write.agentId} at offset ${write.offset} after epoch ${previous.epoch} by ${previous.agentId}`,
        );
      }
      const writer = writerOf.get(write.epoch);
      if (writer !== undefined && writer !== write.agentId) {
        violations.push(
          `${id}: epoch ${write.epoch} written by ${writer} and by ${write.agentId} (offset ${write.offset})`,
        );
      }
      writerOf.set(write.epoch, write.agentId);
      previous = write;
    }
  }
  return violations;
}

/** The highest epoch each unit recorded. */
export function highestRecorded(
  history: ReadonlyMap<string, readonly EpochWrite[]>,
): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [id, writes] of history) {
    let highest = 0n;
    for (const write of writes) if (write.epoch > highest) highest = write.epoch;
    out.set(id, highest);
  }
  return out;
}

export interface EndsSample {
  /** Date.now() when the sample was taken. */
  at: number;
  /** Summed end offsets of the source partitions. */
  source: bigint;
  /** Summed end offsets of their copies (duplicates included). */
  target: bigint;
  /** Summed positions the agents recorded as copied in the target's progress. */
  acked: bigint;
}

export interface EndsSampler {
  readonly samples: readonly EndsSample[];
  stop(): Promise<void>;
}

/**
 * Samples, every `intervalMs`, the source's and the target's summed end offsets and the positions
 * recorded in the target's progress log (tailed, the highest position per unit).
 */
export function sampleEnds(
  source: Side,
  target: Side,
  topics: readonly string[],
  partitions: number,
  intervalMs = 200,
): EndsSampler {
  const samples: EndsSample[] = [];
  // Its own fetcher: the test reads the target meanwhile.
  const fetcher = createPartitionFetcher(target.wire, { maxWaitMs: 50 });
  const positions = new Map<string, bigint>();
  let next = 0n;
  const tailProgress = async () => {
    const end = await endOffset(target, GEO_TOPICS.progress, 0);
    while (next < end) {
      const [r] = await fetcher.fetch([
        { topic: GEO_TOPICS.progress, partition: 0, offset: next, maxBytes: 8 * 1024 * 1024 },
      ]);
      if (r!.error !== null) throw r!.error;
      for (const batch of r!.batches) {
        for (const record of batch.records()) {
          if (record.offset < next) continue;
          const { unit, progress } = decodeProgressRecord(record.key, record.value);
          const id = unitId(unit);
          if (progress !== null && progress.nextSourceOffset > (positions.get(id) ?? 0n)) {
            positions.set(id, progress.nextSourceOffset);
          }
        }
      }
      next = r!.nextOffset;
    }
    let sum = 0n;
    for (const position of positions.values()) sum += position;
    return sum;
  };
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      try {
        const [s, t, acked] = await Promise.all([
          totalEnd(source, topics, partitions),
          totalEnd(target, topics.map(remoteOf), partitions),
          tailProgress(),
        ]);
        samples.push({ at: Date.now(), source: s, target: t, acked });
      } catch {
        // A slow broker answer is a missing sample, not a failure of the test.
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  let stopped: Promise<void> | undefined;
  return {
    samples,
    stop: () => {
      stopping = true;
      stopped ??= loop.then(() => fetcher.close());
      return stopped;
    },
  };
}

/** What the target did between `from` and `to` (Date.now() values), from the samples. */
export function targetActivity(samples: readonly EndsSample[], from: number, to: number) {
  const inside = samples.filter((s) => s.at >= from && s.at <= to);
  const before = samples.filter((s) => s.at < from).at(-1) ?? inside[0];
  let longestStallMs = 0;
  let lastGrowthAt: number | undefined;
  let lastChange = from;
  let previous = before;
  let maxLag = 0n;
  for (const sample of inside) {
    if (previous !== undefined && sample.target > previous.target) {
      longestStallMs = Math.max(longestStallMs, sample.at - lastChange);
      lastChange = sample.at;
      lastGrowthAt = sample.at;
    }
    if (sample.source - sample.acked > maxLag) maxLag = sample.source - sample.acked;
    previous = sample;
  }
  longestStallMs = Math.max(longestStallMs, to - lastChange);
  const last = inside.at(-1);
  const span = last !== undefined && before !== undefined;
  return {
    /** Records the target gained in the interval (duplicates included). */
    gained: span ? last.target - before.target : 0n,
    /** Records the source gained in the interval. */
    produced: span ? last.source - before.source : 0n,
    /** The longest time without the target growing. */
    longestStallMs,
    lastGrowthAt,
    /** The largest number of source records not yet recorded as copied. */
    maxLag,
    samples: inside.length,
  };
}

/**
 * How far back a re-delivery may go: about 10 s of the steady load's 20 records/s per
 * partition; far more than an unacknowledged window, far less than a unit restarting from an
 * old position.
 */
export const MAX_REWIND = 200;

/**
 * Returns a check for the steps of a fault test: waits until the target holds every record the
 * source had when called, asserts nothing is missing or out of order and re-deliveries stayed
 * shallow, and reports the duplicates since the previous check.
 */
export function lossCheck(
  source: Side,
  target: Side,
  topics: readonly string[],
  partitions: number,
) {
  let duplicatesSoFar = 0;
  return async (t: { diagnostic(message: string): void }, step: string) => {
    const upTo = await sourceEnds(source, topics, partitions);
    const figures = await waitForReplica(source, target, topics, partitions, { upTo });
    const stepDuplicates = figures.duplicates - duplicatesSoFar;
    duplicatesSoFar = figures.duplicates;
    const where = [...figures.duplicatesByPartition].map(([p, n]) => `${p}=${n}`).join(" ");
    t.diagnostic(
      `${step}: ${figures.total} source records checked, ${figures.missing} missing, ${figures.outOfOrder} out of order, ${stepDuplicates} duplicate(s) since the previous check (${figures.duplicates} in all, deepest re-delivery ${figures.maxRewind} records${where === "" ? "" : `; ${where}`})`,
    );
    assert.equal(
      figures.missing,
      0,
      `${step}: records missing in the target: ${describeMissing(figures)}`,
    );
    assert.equal(figures.outOfOrder, 0, `${step}: records out of order in the target`);
    assert.ok(
      figures.maxRewind <= MAX_REWIND,
      `${step}: a re-delivery went ${figures.maxRewind} records back`,
    );
    return { figures, stepDuplicates };
  };
}

/** `topic/partition: count from source offsets a, b, …` per partition with missing records. */
export function describeMissing(figures: ReplicaComparison): string {
  return [...figures.missingByPartition]
    .map(([p, m]) => `${p}: ${m.count} from source offsets ${m.firstOffsets.join(", ")}`)
    .join("; ");
}
