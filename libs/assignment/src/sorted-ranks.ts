// Per-agent unit lists hold unit ranks in ascending order; ranks are numbered by descending
// load, so each list is also ordered heaviest first and binary searches can select by load.

/**
 * Index of the first entry of `list` for which `before` is false, where `before` holds for a
 * head of the list and fails for the rest (a binary search); `list.length` if it holds for all.
 */
function partitionPoint(list: readonly number[], before: (entry: number) => boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(list[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of `rank` in `list`, or where it would go. */
export function rankPosition(list: readonly number[], rank: number): number {
  return partitionPoint(list, (r) => r < rank);
}

export function insertRank(list: number[], rank: number): void {
  const at = rankPosition(list, rank);
  if (at === list.length) list.push(rank);
  else list.splice(at, 0, rank);
}

export function removeRank(list: number[], rank: number): void {
  const at = rankPosition(list, rank);
  if (list[at] === rank) list.splice(at, 1);
}

/** Index of the first (heaviest) unit in `list` whose load is at most `bound`; `list.length` if none. */
export function firstAtMost(
  list: readonly number[],
  unitLoad: Float64Array,
  bound: number,
): number {
  return partitionPoint(list, (r) => unitLoad[r]! > bound);
}

/** How many units in `list` weigh at least `bound` (they form its head). */
export function countAtLeast(
  list: readonly number[],
  unitLoad: Float64Array,
  bound: number,
): number {
  return partitionPoint(list, (r) => unitLoad[r]! >= bound);
}
