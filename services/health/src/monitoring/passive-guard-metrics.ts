import { Counter, Gauge, type Registry } from "@geo/metrics";
import type { ActiveActiveWatch } from "./active-active-watch";
import type { ForeignWriteReport } from "./foreign-writes";
import type { KeyConflict } from "./key-conflicts";
import type { SplitBrainTracker } from "./split-brain";

/**
 * Series of the passive-side checks (README.md, docs/metrics.md). The foreign-write counter
 * starts at 0 for every remote partition watched, so "no foreign write" is a value, not a gap.
 */
export function registerPassiveGuardMetrics(
  registry: Registry,
  splitBrain: () => SplitBrainTracker | undefined,
  activeActive: () => ActiveActiveWatch | undefined,
) {
  const registers = [registry];
  const foreign = new Counter({
    name: "geo_passive_foreign_writes_total",
    help: "Records found in a remote (replicated) partition of a passive region that no agent wrote: applications writing where they must not.",
    labelNames: ["flow", "topic", "partition"],
    registers,
  });
  new Gauge({
    name: "geo_split_brain",
    help: "1 while a flow group declared active-passive has its passive region accepting application writes (seen within the hold time), 0 otherwise.",
    labelNames: ["group"],
    registers,
    collect() {
      this.reset();
      const tracker = splitBrain();
      for (const group of tracker?.groups() ?? []) {
        this.set({ group }, tracker?.state(group)?.splitBrain ? 1 : 0);
      }
    },
  });
  const conflicts = new Counter({
    name: "geo_active_active_key_conflicts_total",
    help: "Keys written by applications in both regions of an active-active pair within monitoring.keyConflictWindowMs (among the sampled keys: geo_active_active_key_sample_rate).",
    labelNames: ["pair", "topic"],
    registers,
  });
  const perPair = (
    name: string,
    help: string,
    value: (w: ActiveActiveWatch, pair: string) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["pair"],
      registers,
      collect() {
        this.reset();
        const watch = activeActive();
        for (const pair of watch?.pairs() ?? []) this.set({ pair }, value(watch!, pair));
      },
    });
  perPair(
    "geo_active_active_key_sample_rate",
    "One key in this many is followed for conflicts (1: every key; doubles while more keys than monitoring.keyConflictMaxKeys were written within the window).",
    (w, pair) => w.tracker(pair)?.sampleRate ?? 1,
  );
  perPair(
    "geo_active_active_keys",
    "Keys whose last write the conflict check remembers for the pair (bounded by monitoring.keyConflictMaxKeys).",
    (w, pair) => w.tracker(pair)?.keys ?? 0,
  );
  const labels = (r: ForeignWriteReport) => ({
    flow: r.flow,
    topic: r.topic,
    partition: String(r.partition),
  });
  return {
    watched: (report: ForeignWriteReport) => foreign.inc(labels(report), 0),
    foreign: (report: ForeignWriteReport, added: bigint) =>
      foreign.inc(labels(report), Number(added)),
    conflict: (pair: string, conflict: KeyConflict) =>
      conflicts.inc({ pair, topic: conflict.topic }),
  };
}
