// A failback's divergence report: the records the returning region holds that never reached
// the region that was active (written before the failure and not yet replicated, or written
// during the outage by clients that still reached it). For each flow out of the returning
// region: from the flow's recorded progress (next source offset acknowledged by the other
// region) to the source's log end, measured once the returning region answers again. On
// request they are copied into `<topic>.diverged.<region>` in the other region. The flow itself
// resumes at the end of the failback from the same progress, so these records also reach the
// remote topic there, late: the report says which ones arrived out of their time.
import type { DivergedRange } from "@geo/region-state";
import type { FlowInfo, TransitionDependencies } from "./dependencies";
import { type StepRecorder, until } from "./step-recorder";
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
  options: { readonly pollMs: number; readonly copy: boolean; readonly out: DivergedRange[] },
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
    if (options.copy) await copyRanges(p, flow, out, first, deps, steps);
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

/** Copies `ranges[first..]`, marking each copied one in place. */
async function copyRanges(
  p: Plan,
  flow: FlowInfo,
  ranges: DivergedRange[],
  first: number,
  deps: DivergenceDependencies,
  steps: StepRecorder,
): Promise<void> {
  for (let i = first; i < ranges.length; i++) {
    const range = ranges[i]!;
    const toTopic = divergedTopicName(range.sourceTopic, p.to.region);
    await steps.must(
      "copy-diverged",
      `copy ${range.sourceTopic}/${range.partition} [${range.startOffset}, ${range.endOffset}) of ${p.to.cluster} into ${toTopic} in ${p.from.cluster}`,
      async () => {
        const records = await deps.copier.copy({
          fromCluster: flow.source,
          toCluster: flow.target,
          topic: range.sourceTopic,
          partition: range.partition,
          startOffset: BigInt(range.startOffset),
          endOffset: BigInt(range.endOffset),
          toTopic,
        });
        ranges[i] = { ...range, records: String(records), copiedToTopic: toTopic };
        return `${records} records copied`;
      },
    );
  }
}
