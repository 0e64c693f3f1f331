import type { AgentLevels } from "./agent-levels";
import type { IndexedHeap } from "./indexed-heap";
import { EPS } from "./load-balance";
import { type Exchange, pickExchange, pickFill, pickShed } from "./pick-move";

interface Pass {
  readonly levels: AgentLevels;
  readonly low: IndexedHeap;
  readonly high: IndexedHeap;
  /** Per agent: 1 while it is being refilled up to its fair share. */
  readonly filling: Uint8Array;
}

/**
 * One pass over fresh heaps: relieves the most loaded agent while it is above its band, then
 * refills the least loaded one while it is below; returns the units moved (0: balanced as far as
 * the units allow).
 */
export function repairPass(levels: AgentLevels): number {
  const pass: Pass = {
    levels,
    low: levels.heap("lightest"),
    high: levels.heap("heaviest"),
    filling: new Uint8Array(levels.agents),
  };
  const { load, upper, lower, fair } = levels;
  let moves = 0;
  const budget = 2 * levels.balance.end + 4 * levels.agents + 64;
  for (let step = 0; step < budget; step++) {
    const h = pass.high.peek();
    const l = pass.low.peek();
    if (h < 0 || l < 0) break;

    if (load[h]! > upper[h]! * (1 + EPS)) {
      const moved = shed(pass, h, l);
      if (moved === 0) pass.high.remove(h);
      moves += moved;
      continue;
    }

    if (load[l]! < lower[l]! * (1 - EPS) || pass.filling[l] === 1) {
      if (load[l]! >= fair[l]!) break;
      pass.filling[l] = 1;
      const moved = fill(pass, l, h);
      if (moved === 0) {
        pass.filling[l] = 0;
        pass.low.remove(l);
      }
      moves += moved;
      continue;
    }
    break;
  }
  return moves;
}

function move(pass: Pass, r: number, from: number, to: number): void {
  pass.levels.move(r, from, to);
  pass.low.update(from);
  pass.low.update(to);
  pass.high.update(from);
  pass.high.update(to);
}

// Units moved to relieve `h`; 0 when nothing can.
function shed(pass: Pass, h: number, l: number): number {
  for (const keepFloor of [true, false]) {
    if (shedOne(pass, h, l, keepFloor)) return 1;
    const exchange = bestExchange(pass.levels, h, keepFloor);
    if (exchange !== undefined) {
      move(pass, exchange.give, h, exchange.with);
      for (const r of exchange.back) move(pass, r, exchange.with, h);
      return 1 + exchange.back.length;
    }
  }
  return 0;
}

// Gives one unit of `h` to `l`, or else to the lightest agent that can take one.
function shedOne(pass: Pass, h: number, l: number, keepFloor: boolean): boolean {
  const { levels } = pass;
  let to = l;
  let r = h === l ? -1 : pickShed(levels, h, l, keepFloor);
  if (r < 0) {
    to = -1;
    for (let a = 0; a < levels.agents; a++) {
      if (a === h || a === l || levels.pinned[a] === 1 || (to >= 0 && !levels.lighter(a, to))) {
        continue;
      }
      const candidate = pickShed(levels, h, a, keepFloor);
      if (candidate >= 0) {
        to = a;
        r = candidate;
      }
    }
  }
  if (r < 0) return false;
  move(pass, r, h, to);
  return true;
}

// The exchange with the lightest agent that offers one.
function bestExchange(levels: AgentLevels, h: number, keepFloor: boolean): Exchange | undefined {
  let exchange: Exchange | undefined;
  for (let a = 0; a < levels.agents; a++) {
    if (a === h || levels.pinned[a] === 1) continue;
    if (exchange !== undefined && !levels.lighter(a, exchange.with)) continue;
    exchange = pickExchange(levels, h, a, keepFloor) ?? exchange;
  }
  return exchange;
}

// Units moved to refill `l` from `h`, or else from the heaviest agent that can give one.
function fill(pass: Pass, l: number, h: number): number {
  const { levels } = pass;
  let from = h;
  let r = h === l ? -1 : pickFill(levels, h, l);
  if (r < 0) {
    from = -1;
    for (let a = 0; a < levels.agents; a++) {
      if (a === l || a === h || levels.pinned[a] === 1 || (from >= 0 && !levels.heavier(a, from))) {
        continue;
      }
      const candidate = pickFill(levels, a, l);
      if (candidate >= 0) {
        from = a;
        r = candidate;
      }
    }
  }
  if (r < 0) return 0;
  move(pass, r, from, l);
  return 1;
}
