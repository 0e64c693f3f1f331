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
export const EPS = 1e-9;
