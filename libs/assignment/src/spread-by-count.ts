export interface CountSpread {
  /** Ranks `[from, to)` are spread; their loads are all zero. */
  readonly from: number;
  readonly to: number;
  /** Per rank: the live agent that held the unit before, or -1. */
  readonly previous: Int32Array;
  /** Per rank: written for the spread ranks. */
  readonly owner: Int32Array;
  readonly capacity: Float64Array;
  /** Per agent: incremented by the units it is given here. */
  readonly unitCount: Int32Array;
}

// Slack for capacity shares that land a rounding error below a whole number.
const ROUNDING = 1e-9;

/**
 * Spreads units without a measured load by count, each agent getting the floor or the ceiling of
 * its capacity share. Which agents round up is chosen to keep as many units in place as
 * possible, so the moves are the minimum any floor/ceiling spread allows.
 */
export function spreadByCount(spread: CountSpread): void {
  const { from, to, previous, owner, capacity, unitCount } = spread;
  const agents = capacity.length;
  const units = to - from;
  if (units <= 0 || agents === 0) return;

  let totalCapacity = 0;
  for (let a = 0; a < agents; a++) totalCapacity += capacity[a]!;
  const held = new Int32Array(agents);
  for (let k = from; k < to; k++) {
    const a = previous[k]!;
    if (a >= 0) held[a]!++;
  }

  const quota = new Int32Array(agents);
  const fraction = new Float64Array(agents);
  let spare = units;
  for (let a = 0; a < agents; a++) {
    const exact = (units * capacity[a]!) / totalCapacity;
    const floor = Math.floor(exact + ROUNDING);
    quota[a] = floor;
    fraction[a] = exact - floor;
    spare -= floor;
  }

  // A rounded-up slot saves a move only where the agent already holds more than its floor.
  const order = Array.from({ length: agents }, (_, a) => a).sort((a, b) => {
    const savesA = held[a]! > quota[a]! ? 0 : 1;
    const savesB = held[b]! > quota[b]! ? 0 : 1;
    return savesA - savesB || fraction[b]! - fraction[a]! || a - b;
  });
  for (const a of order) {
    if (spare <= 0) break;
    if (fraction[a]! > ROUNDING) {
      quota[a]!++;
      spare--;
    }
  }
  // Only reached when rounding left shares unaccounted for; any agent may take them.
  for (let i = 0; spare > 0; i++, spare--) quota[order[i % agents]!]!++;

  const kept = new Int32Array(agents);
  const free: number[] = [];
  for (let k = from; k < to; k++) {
    const a = previous[k]!;
    if (a >= 0 && kept[a]! < quota[a]!) {
      owner[k] = a;
      kept[a]!++;
    } else {
      free.push(k);
    }
  }
  let a = 0;
  for (const k of free) {
    while (kept[a]! >= quota[a]!) a++;
    owner[k] = a;
    kept[a]!++;
  }
  for (let b = 0; b < agents; b++) unitCount[b]! += kept[b]!;
}
