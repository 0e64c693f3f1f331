import { IndexedHeap } from "./indexed-heap";
import { countAtLeast, firstAtMost, insertRank, removeRank } from "./sorted-ranks";

export interface LoadBalance {
  /** Ranks `[0, end)` carry a positive load, heaviest first. */
  readonly end: number;
  readonly unitLoad: Float64Array;
  /** Per rank: the live agent that held the unit before, or -1. */
  readonly previous: Int32Array;
  /** Per rank: written for ranks `[0, end)`. */
  readonly owner: Int32Array;
  readonly capacity: Float64Array;
  /** Per agent: units it already has (the ones spread by count); kept up to date here. */
  readonly unitCount: Int32Array;
  readonly maxLoadRatio: number;
}

export interface LoadBalanceOutcome {
  /** Ranks of units too heavy to fit the bound anywhere; each holds an agent on its own. */
  readonly oversize: number[];
  /** Per agent: 1 when it holds an oversize unit. */
  readonly pinned: Uint8Array;
  readonly passes: number;
}

// Relative slack on bound checks, so that sums rounded differently never decide a move.
const EPS = 1e-9;
// Each pass starts from fresh heaps; a later pass only finds work when an earlier one gave up on
// an agent too soon, and ends the run when it finds none.
const MAX_PASSES = 16;
// Bounds the work of one exchange; more small units than this for one big one is not worth it.
const MAX_TAKEN = 32;

/**
 * Places units with a measured load so that every agent stays within `maxLoadRatio` of its fair
 * share where the units allow it, moving as few units as that takes:
 * - units stay on their previous agent unless balance needs them elsewhere;
 * - units without a (live) agent go, heaviest first, to the least loaded agent;
 * - an agent above `maxLoadRatio × share` sheds units to the least loaded agents until it is
 *   within the bound, preferring one unit that clears the excess, then exchanges of a big unit
 *   for smaller ones;
 * - an agent below `share / maxLoadRatio` (a new agent, typically) is refilled up to its share
 *   from the most loaded agents, so it does not sit at the edge of the band and trip it again.
 * A unit heavier than the bound on any agent is given an agent of its own and left out of the
 * fair share of the others.
 *
 * Every move (or exchange) leaves both agents below the giver's level before it, so the sorted
 * vector of agent levels falls lexicographically at each step: the loop cannot cycle.
 */
export function balanceByLoad(balance: LoadBalance): LoadBalanceOutcome {
  const { end, unitLoad, previous, owner, capacity, unitCount, maxLoadRatio } = balance;
  const agents = capacity.length;
  const pinned = new Uint8Array(agents);
  const oversize: number[] = [];
  if (end === 0 || agents === 0) return { oversize, pinned, passes: 0 };

  const agentLoad = new Float64Array(agents);
  const lists: number[][] = Array.from({ length: agents }, () => []);

  // Oversize units, heaviest first: after each one the others' share is recomputed without it.
  let remainingLoad = 0;
  for (let k = 0; k < end; k++) remainingLoad += unitLoad[k]!;
  let remainingCapacity = 0;
  for (let a = 0; a < agents; a++) remainingCapacity += capacity[a]!;
  let unpinned = agents;
  let widest = widestUnpinned(capacity, pinned);
  let k = 0;
  for (; k < end && unpinned > 1; k++) {
    const share = remainingLoad / remainingCapacity;
    const load = unitLoad[k]!;
    if (!(load > maxLoadRatio * share * capacity[widest]! * (1 + EPS))) break;
    let host = previous[k]!;
    if (host < 0 || pinned[host] === 1) host = widest;
    pinned[host] = 1;
    owner[k] = host;
    agentLoad[host] = load;
    unitCount[host]!++;
    oversize.push(k);
    remainingLoad -= load;
    remainingCapacity -= capacity[host]!;
    unpinned--;
    widest = widestUnpinned(capacity, pinned);
  }

  const pool: number[] = [];
  for (; k < end; k++) {
    const a = previous[k]!;
    if (a >= 0 && pinned[a] === 0) {
      owner[k] = a;
      lists[a]!.push(k);
      unitCount[a]!++;
    } else {
      pool.push(k);
    }
  }

  const share = Math.max(remainingLoad, 0) / remainingCapacity;
  const fair = new Float64Array(agents);
  const upper = new Float64Array(agents);
  const lower = new Float64Array(agents);
  for (let a = 0; a < agents; a++) {
    fair[a] = share * capacity[a]!;
    upper[a] = fair[a]! * maxLoadRatio;
    lower[a] = fair[a]! / maxLoadRatio;
  }

  const level = (a: number) => agentLoad[a]! / capacity[a]!;
  // Ties on load go to the agent with fewer units, then to the lower index (agents are sorted
  // by id), so equal units spread evenly by count and the result never depends on input order.
  const lighter = (a: number, b: number) => {
    const d = level(a) - level(b);
    if (d !== 0) return d < 0;
    const c = unitCount[a]! - unitCount[b]!;
    return c !== 0 ? c < 0 : a < b;
  };
  const heavier = (a: number, b: number) => {
    const d = level(a) - level(b);
    if (d !== 0) return d > 0;
    const c = unitCount[a]! - unitCount[b]!;
    return c !== 0 ? c > 0 : a < b;
  };

  const recomputeLoads = () => {
    for (let a = 0; a < agents; a++) {
      if (pinned[a] === 1) continue;
      let sum = 0;
      for (const r of lists[a]!) sum += unitLoad[r]!;
      agentLoad[a] = sum;
    }
  };
  recomputeLoads();

  const least = new IndexedHeap(agents, lighter);
  for (let a = 0; a < agents; a++) if (pinned[a] === 0) least.push(a);
  for (const r of pool) {
    const a = least.peek();
    owner[r] = a;
    insertRank(lists[a]!, r);
    agentLoad[a]! += unitLoad[r]!;
    unitCount[a]!++;
    least.update(a);
  }

  // How far `from` may fall: with `keepFloor` not under its own band, which would only make it
  // pull units back; otherwise as far as needed.
  const giveLimit = (from: number, keepFloor: boolean) =>
    keepFloor ? agentLoad[from]! - lower[from]! : Number.POSITIVE_INFINITY;

  // The unit `from` should give `to` to get back under its bound, or -1.
  const pickShed = (from: number, to: number, keepFloor: boolean): number => {
    const list = lists[from]!;
    const peak = level(from);
    if (list.length === 0 || !(level(to) < peak)) return -1;
    const limit = Math.min(upper[to]! - agentLoad[to]!, giveLimit(from, keepFloor));
    // One unit that clears the excess, the lightest such; else the heaviest that fits.
    const clearing = countAtLeast(list, unitLoad, agentLoad[from]! - upper[from]!);
    if (clearing > 0 && unitLoad[list[clearing - 1]!]! <= limit) return list[clearing - 1]!;
    const fitting = firstAtMost(list, unitLoad, limit);
    if (fitting < list.length) return list[fitting]!;
    if (keepFloor) return -1;
    // Nothing fits the receiver's band: still worth it if the peak goes down.
    const r = list[list.length - 1]!;
    return (agentLoad[to]! + unitLoad[r]!) / capacity[to]! < peak ? r : -1;
  };

  // When no single unit can leave `from` without overloading its receiver (`from` holds a few
  // big units), exchanging a big unit for some smaller ones can still bring both within bound.
  const pickExchange = (from: number, to: number, keepFloor: boolean) => {
    const give = lists[from]!;
    const take = lists[to]!;
    if (give.length === 0 || take.length === 0 || !(level(to) < level(from))) return undefined;
    const excess = agentLoad[from]! - upper[from]!;
    const maxNet = Math.min(upper[to]! - agentLoad[to]!, giveLimit(from, keepFloor));
    if (!(excess <= maxNet)) return undefined;
    for (let i = give.length - 1; i >= 0; i--) {
      const load = unitLoad[give[i]!]!;
      if (load < excess) continue;
      // Taken back: at most `load - excess` so `from` ends within bound, at least
      // `load - maxNet` so `to` does too; heaviest first, to move few units.
      const most = load - excess;
      const least = load - maxNet;
      const back: number[] = [];
      let taken = 0;
      let j = firstAtMost(take, unitLoad, most);
      while (j < take.length && taken < least && back.length < MAX_TAKEN) {
        back.push(take[j]!);
        taken += unitLoad[take[j]!]!;
        j = Math.max(j + 1, firstAtMost(take, unitLoad, most - taken));
      }
      if (taken >= least && back.length > 0) return { give: give[i]!, back, with: to };
    }
    return undefined;
  };

  // The unit `from` should give to bring `to` closest to its fair share, or -1.
  const pickFill = (from: number, to: number): number => {
    const list = lists[from]!;
    const deficit = fair[to]! - agentLoad[to]!;
    if (list.length === 0 || deficit <= 0 || !(level(from) > level(to))) return -1;
    // Never past the point where the two meet, nor out of either one's band.
    const meet = (level(from) - level(to)) / (1 / capacity[from]! + 1 / capacity[to]!);
    const limit = Math.min(meet, upper[to]! - agentLoad[to]!, giveLimit(from, true));
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
  };

  let passes = 0;
  while (passes < MAX_PASSES) {
    passes++;
    recomputeLoads();
    if (repairPass() === 0) break;
  }
  return { oversize, pinned, passes };

  function repairPass(): number {
    const low = new IndexedHeap(agents, lighter);
    const high = new IndexedHeap(agents, heavier);
    for (let a = 0; a < agents; a++) {
      if (pinned[a] === 1) continue;
      low.push(a);
      high.push(a);
    }
    const filling = new Uint8Array(agents);
    const move = (r: number, from: number, to: number) => {
      removeRank(lists[from]!, r);
      insertRank(lists[to]!, r);
      agentLoad[from]! -= unitLoad[r]!;
      agentLoad[to]! += unitLoad[r]!;
      unitCount[from]!--;
      unitCount[to]!++;
      owner[r] = to;
      low.update(from);
      low.update(to);
      high.update(from);
      high.update(to);
    };

    // Units moved to relieve `h`; 0 when nothing can.
    const shed = (h: number, l: number): number => {
      for (const keepFloor of [true, false]) {
        let to = l;
        let r = h === l ? -1 : pickShed(h, l, keepFloor);
        if (r < 0) {
          // The lightest agent cannot take anything; the lightest one that can, then.
          to = -1;
          for (let a = 0; a < agents; a++) {
            if (a === h || a === l || pinned[a] === 1 || (to >= 0 && !lighter(a, to))) continue;
            const candidate = pickShed(h, a, keepFloor);
            if (candidate >= 0) {
              to = a;
              r = candidate;
            }
          }
        }
        if (r >= 0) {
          move(r, h, to);
          return 1;
        }
        let exchange: ReturnType<typeof pickExchange>;
        for (let a = 0; a < agents; a++) {
          if (a === h || pinned[a] === 1) continue;
          if (exchange !== undefined && !lighter(a, exchange.with)) continue;
          exchange = pickExchange(h, a, keepFloor) ?? exchange;
        }
        if (exchange !== undefined) {
          move(exchange.give, h, exchange.with);
          for (const r of exchange.back) move(r, exchange.with, h);
          return 1 + exchange.back.length;
        }
      }
      return 0;
    };

    // Units moved to refill `l`; 0 when nothing can.
    const fill = (l: number, h: number): number => {
      let from = h;
      let r = h === l ? -1 : pickFill(h, l);
      if (r < 0) {
        from = -1;
        for (let a = 0; a < agents; a++) {
          if (a === l || a === h || pinned[a] === 1 || (from >= 0 && !heavier(a, from))) continue;
          const candidate = pickFill(a, l);
          if (candidate >= 0) {
            from = a;
            r = candidate;
          }
        }
      }
      if (r < 0) return 0;
      move(r, from, l);
      return 1;
    };

    let moves = 0;
    const budget = 2 * end + 4 * agents + 64;
    for (let step = 0; step < budget; step++) {
      const h = high.peek();
      const l = low.peek();
      if (h < 0 || l < 0) break;

      if (agentLoad[h]! > upper[h]! * (1 + EPS)) {
        const moved = shed(h, l);
        if (moved === 0) high.remove(h);
        moves += moved;
        continue;
      }

      if (agentLoad[l]! < lower[l]! * (1 - EPS) || filling[l] === 1) {
        if (agentLoad[l]! >= fair[l]!) break;
        filling[l] = 1;
        const moved = fill(l, h);
        if (moved === 0) {
          filling[l] = 0;
          low.remove(l);
        }
        moves += moved;
        continue;
      }
      break;
    }
    return moves;
  }
}

function widestUnpinned(capacity: Float64Array, pinned: Uint8Array): number {
  let widest = -1;
  for (let a = 0; a < capacity.length; a++) {
    if (pinned[a] === 1) continue;
    if (widest < 0 || capacity[a]! > capacity[widest]!) widest = a;
  }
  return widest;
}
