import {
  type KafkaWireClient,
  listOffsetsMany,
  OffsetOutOfRangeError,
  type PartitionFetcher,
} from "@geo/kafka-wire";
import { unitId } from "@geo/progress";
import type { ClusterSnapshot } from "./cluster-probe";
import type { MonitoredFlow } from "./monitored-flow";
import type { ProgressTail } from "./progress-tail";

export interface PartitionLag {
  readonly sourceTopic: string;
  readonly partition: number;
  readonly remoteTopic: string;
  /** Source end offset (last stable offset) at the measurement. */
  readonly endOffset: bigint;
  /** Next source offset recorded in the target; the log start when nothing was recorded yet. */
  readonly nextSourceOffset: bigint;
  readonly records: bigint;
  /** Now minus the timestamp of the record at nextSourceOffset; 0 when caught up; undefined while not yet read. */
  readonly ageMs: number | undefined;
}

export interface FlowLag {
  readonly flow: string;
  readonly source: string;
  readonly target: string;
  /** Date.now() of the measurement. */
  readonly time: number;
  /** Why the lag is unknown (source or target unreachable); undefined when measured. */
  readonly unknown: string | undefined;
  /** Ordered by topic and partition; empty when unknown. */
  readonly partitions: readonly PartitionLag[];
  readonly totalRecords: bigint;
  /** The worst partition's age; 0 when caught up. */
  readonly maxAgeMs: number;
  /** Sum of end offsets: records ever written to the flow's source partitions. */
  readonly sourceRecords: bigint;
  /** Sum of next source offsets: records the target acknowledged. */
  readonly replicatedRecords: bigint;
}

export interface LagDependencies {
  readonly sourceSnapshot: ClusterSnapshot | undefined;
  readonly sourceClient: KafkaWireClient;
  readonly sourceFetcher: PartitionFetcher;
  readonly progress: ProgressTail;
  /** How old the progress tail's last read may be before the target counts as unreadable. */
  readonly progressMaxAgeMs: number;
  /** unit id + "@" + offset -> timestamp of that record; kept between rounds by the caller. */
  readonly timestamps: Map<string, number>;
  /** Timestamps read per round at most (each costs a fetch of one batch). */
  readonly maxTimestampReads?: number;
  readonly timeoutMs?: number;
}

export function unknownLag(flow: MonitoredFlow, reason: string): FlowLag {
  return {
    flow: flow.name,
    source: flow.source,
    target: flow.target,
    time: Date.now(),
    unknown: reason,
    partitions: [],
    totalRecords: 0n,
    maxAgeMs: 0,
    sourceRecords: 0n,
    replicatedRecords: 0n,
  };
}

/**
 * Lag of one flow from the source's end offsets and the progress the agents recorded in the
 * target, so it is right whatever the agents' state (dead, stuck, a unit in error): records =
 * end offset - next source offset; seconds = now - timestamp of the first record not yet
 * replicated (the record at the next source offset). Unknown, never 0, when the source or the
 * target's progress cannot be read.
 */
export async function measureFlowLag(flow: MonitoredFlow, deps: LagDependencies): Promise<FlowLag> {
  const snapshot = deps.sourceSnapshot;
  if (snapshot === undefined) return unknownLag(flow, `source ${flow.source} not probed yet`);
  if (!snapshot.reachable) {
    return unknownLag(flow, `source ${flow.source} unreachable: ${snapshot.health.error ?? ""}`);
  }
  if (!deps.progress.current(deps.progressMaxAgeMs)) {
    return unknownLag(flow, `progress in target ${flow.target} cannot be read`);
  }
  const topics = [...snapshot.topics].filter(([topic]) => flow.replicates(topic)).sort(byName);
  const units = topics.flatMap(([topic, count]) =>
    Array.from({ length: count }, (_, partition) => ({
      topic,
      partition,
      recorded: deps.progress.progress(unitId({ flow: flow.name, sourceTopic: topic, partition })),
    })),
  );
  let ends: Map<string, bigint>;
  let starts: Map<string, bigint>;
  try {
    ends = await readOffsets(deps, units, "latest");
    // Where a partition without recorded progress starts: only those need the log start.
    starts = await readOffsets(
      deps,
      units.filter((u) => u.recorded === undefined),
      "earliest",
    );
  } catch (error) {
    return unknownLag(flow, `source ${flow.source} offsets: ${(error as Error).message}`);
  }
  const partitions = units.map(({ topic, partition, recorded }): PartitionLag => {
    const key = `${topic}\u0000${partition}`;
    const endOffset = ends.get(key) ?? 0n;
    const next = recorded?.nextSourceOffset ?? starts.get(key) ?? 0n;
    return {
      sourceTopic: topic,
      partition,
      remoteTopic: flow.remoteTopic(topic),
      endOffset,
      nextSourceOffset: next,
      records: endOffset > next ? endOffset - next : 0n,
      ageMs: endOffset > next ? undefined : 0,
    };
  });
  const withAges = await fillAges(flow, partitions, deps);
  return summarize(flow, withAges);
}

const byName = (a: [string, number], b: [string, number]) =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;

/** Offsets of many partitions in one ListOffsets per leader broker; any failure fails all. */
async function readOffsets(
  deps: LagDependencies,
  partitions: readonly { topic: string; partition: number }[],
  spec: "latest" | "earliest",
): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  if (partitions.length === 0) return out;
  const listed = await listOffsetsMany(deps.sourceClient, partitions, spec, {
    timeoutMs: deps.timeoutMs ?? 1500,
  });
  for (const [key, result] of listed) {
    if (!("offset" in result)) throw result;
    out.set(key, result.offset);
  }
  return out;
}

/** Reads the timestamp of the first unreplicated record of lagging partitions (cached per offset). */
async function fillAges(
  flow: MonitoredFlow,
  partitions: PartitionLag[],
  deps: LagDependencies,
): Promise<PartitionLag[]> {
  const now = Date.now();
  const keyOf = (p: PartitionLag) =>
    `${unitId({ flow: flow.name, sourceTopic: p.sourceTopic, partition: p.partition })}@${p.nextSourceOffset}`;
  const lagging = partitions.filter((p) => p.records > 0n);
  const toRead = lagging
    .filter((p) => !deps.timestamps.has(keyOf(p)))
    .slice(0, deps.maxTimestampReads ?? 500);
  if (toRead.length > 0) await readTimestamps(toRead, deps, keyOf);
  // Keep only the timestamps still needed, so the cache stays as small as the lagging set.
  const keep = new Set(lagging.map(keyOf));
  for (const key of deps.timestamps.keys()) {
    if (key.startsWith(`${flow.name}/`) && !keep.has(key)) deps.timestamps.delete(key);
  }
  return partitions.map((p) => {
    if (p.records === 0n) return p;
    const ts = deps.timestamps.get(keyOf(p));
    return { ...p, ageMs: ts === undefined ? undefined : Math.max(0, now - ts) };
  });
}

/**
 * One fetch for every partition whose first unreplicated record's timestamp is not known yet.
 * When retention or deleteRecords removed that record, the first record still there is the
 * oldest unreplicated one: fetched again from the log start.
 */
async function readTimestamps(
  toRead: readonly PartitionLag[],
  deps: LagDependencies,
  keyOf: (p: PartitionLag) => string,
  retry = true,
): Promise<void> {
  const results = await deps.sourceFetcher
    .fetch(
      toRead.map((p) => ({
        topic: p.sourceTopic,
        partition: p.partition,
        offset: p.nextSourceOffset,
        maxBytes: 256 * 1024,
      })),
      { maxWaitMs: 0 },
    )
    .catch(() => []);
  const moved: PartitionLag[] = [];
  for (const [i, result] of results.entries()) {
    const p = toRead[i]!;
    if (
      result.error instanceof OffsetOutOfRangeError &&
      result.error.logStartOffset > p.nextSourceOffset
    ) {
      moved.push({ ...p, nextSourceOffset: result.error.logStartOffset });
      continue;
    }
    const first = firstRecordAtOrAfter(result.batches, p.nextSourceOffset);
    if (first !== undefined) deps.timestamps.set(keyOf(p), first);
  }
  if (moved.length === 0 || !retry) return;
  const found = new Map<string, number>();
  await readTimestamps(
    moved,
    { ...deps, timestamps: found },
    (p) => `${p.sourceTopic}/${p.partition}`,
    false,
  );
  for (const p of toRead) {
    const ts = found.get(`${p.sourceTopic}/${p.partition}`);
    if (ts !== undefined) deps.timestamps.set(keyOf(p), ts);
  }
}

function firstRecordAtOrAfter(
  batches: readonly {
    baseOffset: bigint;
    records(): Iterable<{ offset: bigint; timestamp: bigint }>;
  }[],
  offset: bigint,
): number | undefined {
  for (const batch of batches) {
    for (const record of batch.records()) {
      if (record.offset >= offset) return Number(record.timestamp);
    }
  }
  return undefined;
}

function summarize(flow: MonitoredFlow, partitions: PartitionLag[]): FlowLag {
  let totalRecords = 0n;
  let maxAgeMs = 0;
  let sourceRecords = 0n;
  let replicatedRecords = 0n;
  for (const p of partitions) {
    totalRecords += p.records;
    sourceRecords += p.endOffset;
    // A next offset past the end (records deleted and rewritten) counts as caught up.
    if (p.nextSourceOffset < p.endOffset) replicatedRecords += p.nextSourceOffset;
    else replicatedRecords += p.endOffset;
    if (p.ageMs !== undefined && p.ageMs > maxAgeMs) maxAgeMs = p.ageMs;
  }
  return {
    flow: flow.name,
    source: flow.source,
    target: flow.target,
    time: Date.now(),
    unknown: undefined,
    partitions,
    totalRecords,
    maxAgeMs,
    sourceRecords,
    replicatedRecords,
  };
}
