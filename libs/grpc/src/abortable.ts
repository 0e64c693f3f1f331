import type { EventEmitter } from "node:events";

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Iterates `source` until it ends or `signal` aborts; an abort throws the signal's reason at
 * once, even while `source` is waiting, so no consumer hangs on a call that is over.
 */
export async function* abortableIterable<T>(
  source: AsyncIterable<T>,
  signal: AbortSignal,
): AsyncGenerator<T, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    while (true) {
      let next: IteratorResult<T>;
      try {
        next = await abortable(iterator.next(), signal);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        throw error;
      }
      if (next.done) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!finished) iterator.return?.()?.catch(() => {});
  }
}

/** Resolves on the first of `events` from `emitter`, or rejects when `signal` aborts. */
export function onceOf(
  emitter: EventEmitter,
  events: readonly string[],
  signal?: AbortSignal,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const listeners = events.map((event) => [event, () => done(event)] as const);
    const onAbort = () => {
      cleanup();
      reject(signal?.reason);
    };
    const cleanup = () => {
      for (const [event, listener] of listeners) emitter.off(event, listener);
      signal?.removeEventListener("abort", onAbort);
    };
    const done = (event: string) => {
      cleanup();
      resolve(event);
    };
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    for (const [event, listener] of listeners) emitter.once(event, listener);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
