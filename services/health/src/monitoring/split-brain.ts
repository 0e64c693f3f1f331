// Split brain in a group declared active-passive: the passive region accepts application
// writes too. Two signals, each measured by the passive-side checks every round:
// - foreign writes in the remote topics of the flows INTO the passive region (foreign-writes.ts);
// - growth of the source topics of the flows OUT of the passive region (its own topics, not the
//   heartbeats the health service writes): records written there by applications.
// A signal counts only between two rounds of the same epoch in a stable phase, so the writes of
// a switchover (the old region draining, the new one starting) are not split brain.
import type { Epoch } from "@geo/positions";

export interface SplitBrainSample {
  readonly epoch: Epoch;
  readonly stable: boolean;
  /** Foreign records counted so far in the remote topics of the passive region. */
  readonly foreignWrites: bigint;
  /** Sum of end offsets of the passive region's application source topics; undefined when unknown. */
  readonly passiveSourceRecords: bigint | undefined;
}

export interface SplitBrainState {
  readonly splitBrain: boolean;
  /** Why, for the last round that saw writes in the passive region; empty when never. */
  readonly reason: string;
  /** Date.now() of the last round that saw writes in the passive region; 0 when never. */
  readonly lastSeen: number;
}

/**
 * Per group: split brain while writes in the passive region were seen within `holdMs` (so an
 * alert can require it for a while, and a single write is not forgotten at the next round).
 */
export class SplitBrainTracker {
  private readonly previous = new Map<string, SplitBrainSample>();
  private readonly states = new Map<string, SplitBrainState>();

  constructor(private readonly holdMs: number) {}

  observe(group: string, sample: SplitBrainSample, now: number): SplitBrainState {
    const before = this.previous.get(group);
    this.previous.set(group, sample);
    const seen = before === undefined ? [] : writesSeen(before, sample);
    const last = this.states.get(group) ?? { splitBrain: false, reason: "", lastSeen: 0 };
    const next =
      seen.length > 0
        ? { splitBrain: true, reason: seen.join("; "), lastSeen: now }
        : { ...last, splitBrain: last.lastSeen > 0 && now - last.lastSeen < this.holdMs };
    this.states.set(group, next);
    return next;
  }

  state(group: string): SplitBrainState | undefined {
    return this.states.get(group);
  }

  /** Groups observed, in name order. */
  groups(): string[] {
    return [...this.states.keys()].sort();
  }

  forget(group: string): void {
    this.previous.delete(group);
    this.states.delete(group);
  }
}

function writesSeen(before: SplitBrainSample, now: SplitBrainSample): string[] {
  if (!before.stable || !now.stable || before.epoch !== now.epoch) return [];
  const out: string[] = [];
  if (now.foreignWrites > before.foreignWrites) {
    out.push(
      `${now.foreignWrites - before.foreignWrites} records written into the passive region's remote topics by a non-agent`,
    );
  }
  if (
    before.passiveSourceRecords !== undefined &&
    now.passiveSourceRecords !== undefined &&
    now.passiveSourceRecords > before.passiveSourceRecords
  ) {
    out.push(
      `${now.passiveSourceRecords - before.passiveSourceRecords} records written to the passive region's own topics`,
    );
  }
  return out;
}
