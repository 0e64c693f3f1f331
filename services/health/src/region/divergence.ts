// A failback's divergence report: the records the returning region holds that never reached
// the region that was active (written before the failure and not yet replicated, or written
// during the outage by clients that still reached it). For each flow out of the returning
// region: from the flow's recorded progress (next source offset acknowledged by the other
// region) to the source's log end, measured once the returning region answers again. On
// request they are copied into `<topic>.diverged.<region>` in the other region. The flow itself
// resumes at the end of the failback from the same progress, so these records also reach the
// remote topic there, late: the report says which ones arrived out of their time. A failed
// failback keeps what it copied in its record, so a retry copies only the rest.
import type { DivergedRange, RegionStore } from "@geo/region-state";
import { CopyInterruptedError, type FlowInfo, type TransitionDependencies } from "./dependencies";
import { type StepRecorder, skipped, until } from "./step-recorder";
import type { Plan } from "./transition-plan";

/** Side topic of diverged records: `orders.diverged.us-east` for `orders` written in us-east. */
export function divergedTopicName(topic: string, region: string): string {
  return `${topic}.diverged.${region}`;
}

type DivergenceDependencies = Pick<TransitionDependencies, "lag" | "copier">;

/**
 * Lists (and, when the request says so, copies) every flow's diverged ranges, as steps, into
 * `out`: what was found stays there for the record even when a later step fails.
 */
export async function reportDivergence(
  p: Plan,
  deps: DivergenceDependencies,
  steps: StepRecorder,
  options: {
    readonly pollMs: number;
    readonly copy: boolean;
    readonly out: DivergedRange[];
    /** Ranges earlier attempts copied (see copiedEarlier): not copied again. */
    readonly copied?: readonly DivergedRange[];
  },
): Promise<void> {
  const { out } = options;
  for (const flow of p.reverse) {
    let ranges: DivergedRange[] = [];
    await steps.must(
      "divergence",
      `records of ${p.to.region} that flow ${flow.name} never replicated into ${p.from.region}`,
      async () => {
        ranges = await divergedRanges(flow, deps, p.timeoutMs, options.pollMs);
        const total = ranges.reduce((sum, r) => sum + BigInt(r.records), 0n);
        return `${total} records in ${ranges.length} ranges${ranges.map((r) => `; ${r.sourceTopic}/${r.partition} [${r.startOffset}, ${r.endOffset})`).join("")}`;
      },
    );
    const first = out.length;
    out.push(...ranges);
    if (options.copy) {
      await copyRanges(p, flow, out, first, options.copied ?? [], deps, steps);
    }
  }
}

/** The flow's unreplicated ranges, from a lag measured after this call (the region is back). */
async function divergedRanges(
  flow: FlowInfo,
  deps: DivergenceDependencies,
  timeoutMs: number,
  pollMs: number,
): Promise<DivergedRange[]> {
  const since = Date.now();
  let ranges: DivergedRange[] = [];
  await until(
    `a lag of ${flow.name} measured since ${flow.source} returned`,
    timeoutMs,
    pollMs,
    async () => {
      const lag = await deps.lag.flowLag(flow.name).catch((error: Error) => error);
      if (lag instanceof Error) return { done: false, state: lag.message };
      if (lag.measuredAtMs < since) return { done: false, state: "waiting for a fresh lag" };
      ranges = [];
      for (const part of lag.partitions) {
        if (part.records <= 0n) continue;
        if (part.endOffset === undefined || part.nextSourceOffset === undefined) {
          throw new Error(`the lag of ${part.topic}/${part.partition} has no offsets`);
        }
        ranges.push({
          flow: flow.name,
          sourceTopic: part.topic,
          partition: part.partition,
          startOffset: String(part.nextSourceOffset),
          endOffset: String(part.endOffset),
          records: String(part.records),
        });
      }
      return { done: true, detail: "" };
    },
  );
  return ranges;
}

/**
 * What earlier attempts of this failback copied: a failed one keeps its diverged ranges, copied
 * ones marked, in its record; every attempt since the group's last move (the same epoch) counts.
 */
export async function copiedEarlier(
  history: Pick<RegionStore, "history">,
  p: Plan,
): Promise<DivergedRange[]> {
  const copied: DivergedRange[] = [];
  for (const record of await history.history(p.group.name, HISTORY_SCANNED)) {
    if (record.dryRun) continue;
    if (record.epochBefore !== p.state.epoch) break;
    if (record.kind !== "failback") continue;
    copied.push(...(record.diverged ?? []).filter((r) => r.copiedToTopic !== undefined));
  }
  return copied;
}

/** Transitions and drills looked through for earlier attempts (the store keeps 100). */
const HISTORY_SCANNED = 100;

/** A part of a diverged range: copied by an earlier attempt (`earlier`), or still to copy. */
interface Piece {
  readonly start: bigint;
  readonly end: bigint;
  readonly earlier?: DivergedRange;
}

/** `range` cut into what `copied` already holds in `toTopic` and what it does not, in order. */
function splitCopied(
  range: DivergedRange,
  copied: readonly DivergedRange[],
  toTopic: string,
): Piece[] {
  const same = copied
    .filter(
      (c) =>
        c.flow === range.flow &&
        c.sourceTopic === range.sourceTopic &&
        c.partition === range.partition &&
        c.copiedToTopic === toTopic,
    )
    .sort((a, b) => (BigInt(a.startOffset) < BigInt(b.startOffset) ? -1 : 1));
  const end = BigInt(range.endOffset);
  const pieces: Piece[] = [];
  let at = BigInt(range.startOffset);
  for (const earlier of same) {
    const from = max(BigInt(earlier.startOffset), at);
    const to = min(BigInt(earlier.endOffset), end);
    if (to <= from) continue;
    if (from > at) pieces.push({ start: at, end: from });
    pieces.push({ start: from, end: to, earlier });
    at = to;
  }
  if (at < end) pieces.push({ start: at, end });
  return pieces;
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** The range entry of a piece: its records, and where it was copied if it was. */
function pieceRange(range: DivergedRange, piece: Piece, toTopic: string): DivergedRange {
  const { earlier } = piece;
  // A whole range keeps its count (gaps not counted); a part of one counts its offsets.
  const whole = earlier ?? range;
  const records =
    BigInt(whole.startOffset) === piece.start && BigInt(whole.endOffset) === piece.end
      ? whole.records
      : String(piece.end - piece.start);
  return {
    ...range,
    startOffset: String(piece.start),
    endOffset: String(piece.end),
    records,
    ...(earlier === undefined ? {} : { copiedToTopic: toTopic }),
  };
}

/**
 * Copies `ranges[first..]` but what an earlier attempt copied, replacing each range in place by
 * its pieces, copied ones marked; a copy cut short leaves its copied part marked as well.
 */
async function copyRanges(
  p: Plan,
  flow: FlowInfo,
  ranges: DivergedRange[],
  first: number,
  copied: readonly DivergedRange[],
  deps: DivergenceDependencies,
  steps: StepRecorder,
): Promise<void> {
  // Every piece is listed before the first copy, so a failed copy leaves the full list.
  const planned = ranges.splice(first).map((range) => {
    const toTopic = divergedTopicName(range.sourceTopic, p.to.region);
    const pieces = splitCopied(range, copied, toTopic);
    const entries = pieces.map((piece) => pieceRange(range, piece, toTopic));
    ranges.push(...entries);
    return { range, toTopic, pieces, entries };
  });
  for (const { range, toTopic, pieces, entries } of planned) {
    for (const [i, piece] of pieces.entries()) {
      const entry = entries[i]!;
      await steps.must(
        "copy-diverged",
        `copy ${range.sourceTopic}/${range.partition} [${piece.start}, ${piece.end}) of ${p.to.cluster} into ${toTopic} in ${p.from.cluster}`,
        async () => {
          if (piece.earlier !== undefined)
            return skipped(`copied by an earlier attempt: ${entry.records} records`);
          const records = await copyPiece(flow, entry, toTopic, deps, (parts) =>
            ranges.splice(ranges.indexOf(entry), 1, ...parts),
          );
          ranges[ranges.indexOf(entry)] = {
            ...entry,
            records: String(records),
            copiedToTopic: toTopic,
          };
          return `${records} records copied`;
        },
      );
    }
  }
}

/** Copies one piece; when the copy is cut short, `onCut` gets its copied and uncopied parts. */
async function copyPiece(
  flow: FlowInfo,
  entry: DivergedRange,
  toTopic: string,
  deps: DivergenceDependencies,
  onCut: (parts: DivergedRange[]) => void,
): Promise<bigint> {
  try {
    return await deps.copier.copy({
      fromCluster: flow.source,
      toCluster: flow.target,
      topic: entry.sourceTopic,
      partition: entry.partition,
      startOffset: BigInt(entry.startOffset),
      endOffset: BigInt(entry.endOffset),
      toTopic,
    });
  } catch (error) {
    if (error instanceof CopyInterruptedError && error.nextOffset > BigInt(entry.startOffset)) {
      const cut = String(error.nextOffset);
      onCut([
        { ...entry, endOffset: cut, records: String(error.records), copiedToTopic: toTopic },
        { ...entry, startOffset: cut, records: String(BigInt(entry.endOffset) - error.nextOffset) },
      ]);
    }
    throw error;
  }
}
