import { EPS, type LoadBalance } from "./load-balance";

export interface OversizePins {
  /** Ranks given an agent of their own, heaviest first. */
  readonly oversize: number[];
  /** The first rank that was not pinned. */
  readonly next: number;
  /** Load and capacity left for the fair share of the unpinned agents. */
  readonly remainingLoad: number;
  readonly remainingCapacity: number;
}

/**
 * Gives each unit heavier than the bound on the widest free agent an agent of its own, heaviest
 * first: after each one the others' share is recomputed without it. Writes `owner`, `pinned`,
 * `agentLoad` and `unitCount` for the pinned ranks.
 */
export function pinOversize(
  balance: LoadBalance,
  pinned: Uint8Array,
  agentLoad: Float64Array,
): OversizePins {
  const { end, unitLoad, previous, owner, capacity, unitCount, maxLoadRatio } = balance;
  const oversize: number[] = [];
  let remainingLoad = 0;
  for (let k = 0; k < end; k++) remainingLoad += unitLoad[k]!;
  let remainingCapacity = 0;
  for (let a = 0; a < capacity.length; a++) remainingCapacity += capacity[a]!;
  let unpinned = capacity.length;
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
  return { oversize, next: k, remainingLoad, remainingCapacity };
}

function widestUnpinned(capacity: Float64Array, pinned: Uint8Array): number {
  let widest = -1;
  for (let a = 0; a < capacity.length; a++) {
    if (pinned[a] === 1) continue;
    if (widest < 0 || capacity[a]! > capacity[widest]!) widest = a;
  }
  return widest;
}
