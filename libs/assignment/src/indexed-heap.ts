/**
 * A binary heap of small integer keys (agent indices) whose priority lives outside the heap,
 * so a key whose load changed can be moved in place instead of being pushed twice.
 * `before(a, b)` is true when `a` must come out first.
 */
export class IndexedHeap {
  private readonly items: Int32Array;
  // Position of each key in `items`, -1 when absent.
  private readonly positions: Int32Array;
  private length = 0;

  constructor(
    capacity: number,
    private readonly before: (a: number, b: number) => boolean,
  ) {
    this.items = new Int32Array(capacity);
    this.positions = new Int32Array(capacity).fill(-1);
  }

  get size(): number {
    return this.length;
  }

  has(key: number): boolean {
    return this.positions[key] !== -1;
  }

  /** The first key, or -1 when empty. */
  peek(): number {
    return this.length === 0 ? -1 : this.items[0]!;
  }

  push(key: number): void {
    if (this.positions[key] !== -1) {
      this.update(key);
      return;
    }
    const at = this.length++;
    this.items[at] = key;
    this.positions[key] = at;
    this.up(at);
  }

  /** Removes and returns the first key, or -1 when empty. */
  pop(): number {
    if (this.length === 0) return -1;
    const top = this.items[0]!;
    this.removeAt(0);
    return top;
  }

  remove(key: number): void {
    const at = this.positions[key]!;
    if (at !== -1) this.removeAt(at);
  }

  /** Restores order after the priority of `key` changed; absent keys are ignored. */
  update(key: number): void {
    const at = this.positions[key]!;
    if (at === -1) return;
    this.down(this.up(at));
  }

  private removeAt(at: number): void {
    const key = this.items[at]!;
    const last = this.items[--this.length]!;
    this.positions[key] = -1;
    if (at === this.length) return;
    this.items[at] = last;
    this.positions[last] = at;
    this.down(this.up(at));
  }

  private up(start: number): number {
    const items = this.items;
    const key = items[start]!;
    let at = start;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = items[parentAt]!;
      if (!this.before(key, parent)) break;
      items[at] = parent;
      this.positions[parent] = at;
      at = parentAt;
    }
    items[at] = key;
    this.positions[key] = at;
    return at;
  }

  private down(start: number): void {
    const items = this.items;
    const key = items[start]!;
    const half = this.length >> 1;
    let at = start;
    while (at < half) {
      let childAt = 2 * at + 1;
      let child = items[childAt]!;
      const rightAt = childAt + 1;
      if (rightAt < this.length && this.before(items[rightAt]!, child)) {
        childAt = rightAt;
        child = items[rightAt]!;
      }
      if (!this.before(child, key)) break;
      items[at] = child;
      this.positions[child] = at;
      at = childAt;
    }
    items[at] = key;
    this.positions[key] = at;
  }
}
