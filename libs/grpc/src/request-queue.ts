/**
 * An async iterable fed by `push` and ended by `end`: the requests of a client- or bidi-streaming
 * call whose messages are produced over time (heartbeats, reports).
 */
export function createRequestQueue<T>(): {
  push(value: T): void;
  end(): void;
  iterable: AsyncIterable<T>;
} {
  const values: T[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  return {
    push(value) {
      values.push(value);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    iterable: {
      async *[Symbol.asyncIterator]() {
        while (true) {
          const value = values.shift();
          if (value !== undefined) {
            yield value;
            continue;
          }
          if (ended) return;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      },
    },
  };
}
