import assert from "node:assert/strict";
import { test } from "node:test";
import { IndexedHeap } from "./indexed-heap";

test("IndexedHeap keeps order through pushes, updates and removals", () => {
  const keys = 64;
  const priority = new Float64Array(keys);
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const heap = new IndexedHeap(
    keys,
    (a, b) => priority[a]! < priority[b]! || (priority[a] === priority[b] && a < b),
  );
  const present = new Set<number>();
  for (let step = 0; step < 5000; step++) {
    const key = Math.floor(next() * keys);
    const action = next();
    if (action < 0.4) {
      priority[key] = Math.floor(next() * 20);
      if (present.has(key)) heap.update(key);
      else heap.push(key);
      present.add(key);
    } else if (action < 0.6) {
      heap.remove(key);
      present.delete(key);
    } else if (action < 0.8 && present.has(key)) {
      priority[key] = Math.floor(next() * 20);
      heap.update(key);
    } else {
      const expected = [...present].sort((a, b) => priority[a]! - priority[b]! || a - b)[0] ?? -1;
      assert.equal(heap.peek(), expected);
    }
    assert.equal(heap.size, present.size);
    assert.equal(heap.has(key), present.has(key));
  }
  const drained: number[] = [];
  while (heap.size > 0) drained.push(heap.pop());
  assert.deepEqual(
    drained,
    [...present].sort((a, b) => priority[a]! - priority[b]! || a - b),
  );
  assert.equal(heap.pop(), -1);
  assert.equal(heap.peek(), -1);
});
