// The rows of the `failover` benchmark's table: one scenario's measurements, ours beside
// MirrorMaker 2's, with the issue's goals and whether they were met.
import type { healthV1 } from "@geo/proto";
import { producerFigures, type RiskCheck } from "./failover-audit";
import type { SequencedLoad } from "./failover-load";
import type { Figure, Row } from "./report";

export type Kind = "switchover" | "failover";

/** Below this share of the offered rate the run fails: the load was not what it claims. */
export const MIN_RATE_SHARE = 0.9;

export interface Moved {
  readonly record: healthV1.TransitionRecord;
  /** Monotonic ms: the request that succeeded was sent, it answered (the flip). */
  readonly requestAt: number;
  readonly flipAt: number;
  /** Failover: when us-east's broker was killed. */
  readonly killAt?: number;
}

type Counts = { duplicates: number; misses: number };

export interface Outcome {
  readonly perSecond: number;
  readonly moved: Moved;
  readonly load: SequencedLoad;
  readonly geo: Counts;
  readonly geoSource: Counts;
  readonly mm2: Counts;
  /** Records acknowledged by us-east that are not in eu-west: ours, MirrorMaker 2's. */
  readonly missing: { readonly geo: number; readonly mm2: number };
  readonly risk?: RiskCheck;
  readonly mm2Answer: { offsets: readonly unknown[]; ms: number };
  /** Failover: consumed past the checkpoints listed after it; `after`: those written since. */
  readonly since?: { since: number; ageMs: number; after: number };
  readonly writtenAtSource: number;
  readonly settings: string;
  readonly seconds: number;
}

export const ms = (d: { seconds: bigint; nanos: number } | undefined) =>
  d === undefined ? 0 : Number(d.seconds) * 1000 + d.nanos / 1e6;

type AddRow = (
  measure: string,
  geo: Figure,
  mm2: Figure,
  unit: string,
  goal?: string,
  met?: Figure,
  note?: string,
) => void;

export function figures(kind: Kind, o: Outcome): Row[] {
  const rows: Row[] = [];
  const row: AddRow = (measure, geo, mm2, unit, goal = "", met = null, note = "") =>
    rows.push({ scenario: kind, measure, geo, mm2, unit, goal, met, note });
  transitionRows(o, row);
  producerRows(o, row);
  lossRows(kind, o, row);
  row(
    "RemoteClusterUtils.translateOffsets at the flip",
    null,
    o.mm2Answer.ms,
    "ms",
    "",
    null,
    `${o.mm2Answer.offsets.length} partitions answered; ${o.settings}`,
  );
  row("scenario wall time (stack start to report)", o.seconds, null, "s");
  return rows;
}

function transitionRows(o: Outcome, row: AddRow): void {
  const { record } = o.moved;
  const rtoMs = ms(record.rto);
  row(
    "RTO: no active region (transition record)",
    rtoMs,
    null,
    "ms",
    "<= 10000",
    rtoMs <= 10_000,
    "MM2: no such step, a runbook",
  );
  for (const step of record.steps) {
    row(`  step ${step.name}`, ms(step.duration), null, "ms", "", null, step.detail.slice(0, 90));
  }
  // Loops, not Math.max(...list): hundreds of thousands of handled records overflow the stack.
  const extreme = (
    region: string,
    times: readonly { at: number; region: string }[],
    pick: (a: number, b: number) => number,
    start: number,
  ) => times.reduce((best, t) => (t.region === region ? pick(best, t.at) : best), start);
  const lastAt = (region: string, times: readonly { at: number; region: string }[]) =>
    extreme(region, times, Math.max, -Infinity);
  const firstAt = (region: string, times: readonly { at: number; region: string }[]) =>
    extreme(region, times, Math.min, Infinity);
  const since = o.moved.killAt;
  if (since !== undefined) {
    row(
      "detection: broker killed -> failover accepted",
      o.moved.requestAt - since,
      null,
      "ms",
      "",
      null,
      "3 failed probes at 2 s (flowGroups[].failoverAfterProbeFailures)",
    );
    row("broker killed -> eu-west active (flip)", o.moved.flipAt - since, null, "ms");
  }
  const writePause = firstAt("eu-west", o.load.acks) - (since ?? lastAt("us-east", o.load.acks));
  const readPause =
    firstAt("eu-west", o.load.handled) - (since ?? lastAt("us-east", o.load.handled));
  const from = since === undefined ? "last in us-east" : "kill";
  row(`producer: ${from} -> first ack by eu-west`, writePause, null, "ms");
  row(`group: ${from} -> first record handled in eu-west`, readPause, null, "ms");
}

function producerRows(o: Outcome, row: AddRow): void {
  const p = producerFigures(o.load);
  const floor = Math.round(o.perSecond * MIN_RATE_SHARE);
  row(
    "producer rate achieved (acknowledged / first offer to last answer)",
    Math.round(p.rate),
    null,
    "records/s",
    `>= ${floor}`,
    p.rate >= floor,
    `${o.perSecond}/s offered over ${p.seconds.toFixed(1)} s, the transition's pause included; ` +
      `${o.load.notOffered()} not offered (buffer full)`,
  );
  row(
    "produce requests: records each p50 / max",
    `${p.recordsPerRequest.p50} / ${p.recordsPerRequest.max}`,
    null,
    "records",
    "",
    null,
    `${p.requests} requests; what was offered while one was out goes in the next`,
  );
  row(
    "produce round trip p50 / p99 / max",
    `${p.roundTripMs.p50} / ${p.roundTripMs.p99} / ${p.roundTripMs.max}`,
    null,
    "ms",
    "",
    null,
    "one request at a time (kafkajs idempotent: one per broker); max includes the hold",
  );
  row("records written in us-east (acknowledged)", o.writtenAtSource, o.writtenAtSource, "records");
  row(
    "records written in eu-west after the flip",
    o.load.acked.size - o.writtenAtSource,
    null,
    "records",
    "",
    null,
    `${o.load.failed()} records' sends rejected (not counted)`,
  );
}

function lossRows(kind: Kind, o: Outcome, row: AddRow): void {
  const { record } = o.moved;
  const switchover = kind === "switchover";
  if (switchover) {
    const rpo = record.rpoUnknown ? "unknown" : Number(record.rpoRecords);
    row("RPO: records not replicated (transition record)", rpo, null, "records", "0", rpo === 0);
  } else {
    const r = o.risk;
    row(
      "RPO: records at risk (transition record)",
      r?.reported ?? "unknown",
      null,
      "records",
      "a number",
      r?.reported !== undefined,
      r?.measuredBeforeMs === undefined
        ? "no partition behind at the last measurement"
        : `lag measured ${Math.round(r.measuredBeforeMs)} ms before the request; ${r.byPartition}`,
    );
  }
  const bound = switchover ? 0 : (o.risk?.reported ?? 0) + (o.risk?.writtenAfter ?? 0);
  row(
    "acknowledged by us-east, missing in eu-west (read back)",
    o.missing.geo,
    o.missing.mm2,
    "records",
    switchover ? "0" : "<= at risk + written after",
    o.missing.geo <= bound,
    switchover
      ? "ours: us-east.orders; MM2: east.orders"
      : `${o.risk?.writtenAfter ?? 0} acknowledged after the lag measurement (uncountable by it)`,
  );
  row(
    "group duplicates (records written in us-east)",
    o.geoSource.duplicates,
    o.mm2.duplicates,
    "records",
    switchover ? "0" : "< MM2",
    switchover ? o.geoSource.duplicates === 0 : o.geoSource.duplicates < o.mm2.duplicates,
  );
  row(
    "group misses (records written in us-east)",
    o.geoSource.misses,
    o.mm2.misses,
    "records",
    switchover ? "0" : "<= missing in eu-west",
    o.geoSource.misses <= o.missing.geo,
    "a record the group read in us-east before the kill is no miss, replicated or not",
  );
  row(
    "group duplicates / misses, all acknowledged records",
    `${o.geo.duplicates} / ${o.geo.misses}`,
    null,
    "records",
    "",
    null,
    "ours: us-east then eu-west's own writes",
  );
  if (o.since !== undefined) {
    row(
      "consumed in us-east since the last checkpoint",
      o.since.since,
      null,
      "records",
      ">= geo duplicates",
      o.geoSource.duplicates <= o.since.since,
      `newest checkpoint ${o.since.ageMs} ms old at the failover; ${
        o.since.after === 0
          ? "the checkpoints it translated"
          : `${o.since.after} partitions' checkpoints written after its commit step (newer than it used)`
      }`,
    );
  }
}
