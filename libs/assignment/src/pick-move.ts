import type { AgentLevels } from "./agent-levels";
import { countAtLeast, firstAtMost } from "./sorted-ranks";

// Bounds the work of one exchange; more small units than this for one big one is not worth it.
const MAX_TAKEN = 32;

export interface Exchange {
  readonly give: number;
  readonly back: number[];
  readonly with: number;
}

/** The unit `from` should give `to` to get back under its bound, or -1. */
export function pickShed(
  levels: AgentLevels,
  from: number,
  to: number,
  keepFloor: boolean,
): number {
  const { load, upper, units } = levels;
  const { unitLoad, capacity } = levels.balance;
  const list = units[from]!;
  const peak = levels.level(from);
  if (list.length === 0 || !(levels.level(to) < peak)) return -1;
  const limit = Math.min(upper[to]! - load[to]!, levels.giveLimit(from, keepFloor));
  // One unit that clears the excess, the lightest such; else the heaviest that fits.
  const clearing = countAtLeast(list, unitLoad, load[from]! - upper[from]!);
  if (clearing > 0 && unitLoad[list[clearing - 1]!]! <= limit) return list[clearing - 1]!;
  const fitting = firstAtMost(list, unitLoad, limit);
  if (fitting < list.length) return list[fitting]!;
  if (keepFloor) return -1;
  // Nothing fits the receiver's band: still worth it if the peak goes down.
  const r = list[list.length - 1]!;
  return (load[to]! + unitLoad[r]!) / capacity[to]! < peak ? r : -1;
}

/**
 * When no single unit can leave `from` without overloading its receiver (`from` holds a few big
 * units), exchanging a big unit for some smaller ones can still bring both within bound.
 */
export function pickExchange(
  levels: AgentLevels,
  from: number,
  to: number,
  keepFloor: boolean,
): Exchange | undefined {
  const { load, upper, units } = levels;
  const give = units[from]!;
  const take = units[to]!;
  if (give.length === 0 || take.length === 0 || !(levels.level(to) < levels.level(from))) {
    return undefined;
  }
  const excess = load[from]! - upper[from]!;
  const maxNet = Math.min(upper[to]! - load[to]!, levels.giveLimit(from, keepFloor));
  if (!(excess <= maxNet)) return undefined;
  for (let i = give.length - 1; i >= 0; i--) {
    const unitLoad = levels.balance.unitLoad[give[i]!]!;
    if (unitLoad < excess) continue;
    // Taken back: at most `unitLoad - excess` so `from` ends within bound, at least
    // `unitLoad - maxNet` so `to` does too.
    const back = takeBack(levels, take, unitLoad - excess, unitLoad - maxNet);
    if (back !== undefined) return { give: give[i]!, back, with: to };
  }
  return undefined;
}

// Units of `take` weighing between `least` and `most` in all, heaviest first to move few units.
function takeBack(
  levels: AgentLevels,
  take: readonly number[],
  most: number,
  least: number,
): number[] | undefined {
  const { unitLoad } = levels.balance;
  const back: number[] = [];
  let taken = 0;
  let j = firstAtMost(take, unitLoad, most);
  while (j < take.length && taken < least && back.length < MAX_TAKEN) {
    back.push(take[j]!);
    taken += unitLoad[take[j]!]!;
    j = Math.max(j + 1, firstAtMost(take, unitLoad, most - taken));
  }
  return taken >= least && back.length > 0 ? back : undefined;
}

/** The unit `from` should give to bring `to` closest to its fair share, or -1. */
export function pickFill(levels: AgentLevels, from: number, to: number): number {
  const { load, upper, fair, units } = levels;
  const { unitLoad, capacity } = levels.balance;
  const list = units[from]!;
  const deficit = fair[to]! - load[to]!;
  if (list.length === 0 || deficit <= 0 || !(levels.level(from) > levels.level(to))) return -1;
  // Never past the point where the two meet, nor out of either one's band.
  const meet = (levels.level(from) - levels.level(to)) / (1 / capacity[from]! + 1 / capacity[to]!);
  const limit = Math.min(meet, upper[to]! - load[to]!, levels.giveLimit(from, true));
  const first = firstAtMost(list, unitLoad, limit);
  if (first === list.length) return -1;
  const under = Math.max(first, firstAtMost(list, unitLoad, deficit));
  let best = under < list.length ? list[under]! : -1;
  if (under > first) {
    const over = list[under - 1]!;
    const overshoot = unitLoad[over]! - deficit;
    if (overshoot < deficit && (best < 0 || overshoot < deficit - unitLoad[best]!)) best = over;
  }
  return best;
}
