import { IndexedHeap } from "./indexed-heap";
import type { LoadBalance } from "./load-balance";
import { insertRank, removeRank } from "./sorted-ranks";

/**
 * The unpinned agents' side of a load balance: each agent's load, its units (ranks, heaviest
 * first) and its band around its fair share, with the moves that keep them consistent.
 */
export class AgentLevels {
  readonly agents: number;
  readonly units: number[][];
  readonly fair: Float64Array;
  readonly upper: Float64Array;
  readonly lower: Float64Array;

  constructor(
    readonly balance: LoadBalance,
    readonly pinned: Uint8Array,
    readonly load: Float64Array,
    share: number,
  ) {
    const { capacity, maxLoadRatio } = balance;
    this.agents = capacity.length;
    this.units = Array.from({ length: this.agents }, () => []);
    this.fair = new Float64Array(this.agents);
    this.upper = new Float64Array(this.agents);
    this.lower = new Float64Array(this.agents);
    for (let a = 0; a < this.agents; a++) {
      this.fair[a] = share * capacity[a]!;
      this.upper[a] = this.fair[a]! * maxLoadRatio;
      this.lower[a] = this.fair[a]! / maxLoadRatio;
    }
  }

  /** Leaves ranks from `first` on with their previous agent where it is free; returns the rest. */
  keepPrevious(first: number): number[] {
    const { end, previous, owner, unitCount } = this.balance;
    const pool: number[] = [];
    for (let k = first; k < end; k++) {
      const a = previous[k]!;
      if (a >= 0 && this.pinned[a] === 0) {
        owner[k] = a;
        this.units[a]!.push(k);
        unitCount[a]!++;
      } else {
        pool.push(k);
      }
    }
    return pool;
  }

  /** Places each unit of `pool`, heaviest first, on the least loaded agent at that moment. */
  placeOnLeastLoaded(pool: readonly number[]): void {
    const { owner, unitLoad, unitCount } = this.balance;
    const least = this.heap("lightest");
    for (const r of pool) {
      const a = least.peek();
      owner[r] = a;
      insertRank(this.units[a]!, r);
      this.load[a]! += unitLoad[r]!;
      unitCount[a]!++;
      least.update(a);
    }
  }

  /** The unpinned agents, lightest or heaviest first. */
  heap(order: "lightest" | "heaviest"): IndexedHeap {
    const before =
      order === "lightest"
        ? (a: number, b: number) => this.lighter(a, b)
        : (a: number, b: number) => this.heavier(a, b);
    const heap = new IndexedHeap(this.agents, before);
    for (let a = 0; a < this.agents; a++) if (this.pinned[a] === 0) heap.push(a);
    return heap;
  }

  recompute(): void {
    const { unitLoad } = this.balance;
    for (let a = 0; a < this.agents; a++) {
      if (this.pinned[a] === 1) continue;
      let sum = 0;
      for (const r of this.units[a]!) sum += unitLoad[r]!;
      this.load[a] = sum;
    }
  }

  level(a: number): number {
    return this.load[a]! / this.balance.capacity[a]!;
  }

  // Ties on load go to the agent with fewer units, then to the lower index (agents are sorted
  // by id), so equal units spread evenly by count and the result never depends on input order.
  lighter(a: number, b: number): boolean {
    const d = this.level(a) - this.level(b);
    if (d !== 0) return d < 0;
    const c = this.balance.unitCount[a]! - this.balance.unitCount[b]!;
    return c !== 0 ? c < 0 : a < b;
  }

  heavier(a: number, b: number): boolean {
    const d = this.level(a) - this.level(b);
    if (d !== 0) return d > 0;
    const c = this.balance.unitCount[a]! - this.balance.unitCount[b]!;
    return c !== 0 ? c > 0 : a < b;
  }

  /** How far `from` may fall: with `keepFloor` not under its own band, which would only make it
   * pull units back; otherwise as far as needed. */
  giveLimit(from: number, keepFloor: boolean): number {
    return keepFloor ? this.load[from]! - this.lower[from]! : Number.POSITIVE_INFINITY;
  }

  move(r: number, from: number, to: number): void {
    const { unitLoad, unitCount, owner } = this.balance;
    removeRank(this.units[from]!, r);
    insertRank(this.units[to]!, r);
    this.load[from]! -= unitLoad[r]!;
    this.load[to]! += unitLoad[r]!;
    unitCount[from]!--;
    unitCount[to]!++;
    owner[r] = to;
  }
}
