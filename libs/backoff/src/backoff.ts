/**
 * The one retry policy every background loop uses: exponential growth from `initialMs` to
 * `maxMs`, with "equal jitter" (each delay is drawn from [d/2, d]) so that many processes
 * retrying against the same broken dependency do not retry in lockstep, while a delay never
 * falls below half its nominal value (a loop never spins).
 */
export interface BackoffOptions {
  /** First delay after a failure. Default 100 ms. */
  initialMs?: number;
  /** Cap of the nominal delay. Default 5,000 ms. */
  maxMs?: number;
  /** Growth per consecutive failure. Default 2. */
  factor?: number;
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
}

export interface Backoff {
  /** The delay to wait after one more consecutive failure. */
  next(): number;
  /** Call after a success: the next failure starts again from `initialMs`. */
  reset(): void;
  /** Consecutive failures since the last reset. */
  readonly failures: number;
}

export function validateBackoffOptions(options: BackoffOptions = {}): Required<BackoffOptions> {
  const resolved = {
    initialMs: options.initialMs ?? 100,
    maxMs: options.maxMs ?? 5_000,
    factor: options.factor ?? 2,
    random: options.random ?? Math.random,
  };
  if (!(resolved.initialMs > 0)) throw new RangeError("backoff initialMs must be > 0");
  if (!(resolved.maxMs >= resolved.initialMs)) {
    throw new RangeError("backoff maxMs must be >= initialMs");
  }
  if (!(resolved.factor >= 1)) throw new RangeError("backoff factor must be >= 1");
  return resolved;
}

/**
 * The delay after the `failures`-th consecutive failure (1 = the first), without state: for
 * callers that count attempts themselves (a client library's retry hook, per-request attempts).
 */
export function delayAfter(failures: number, options: BackoffOptions = {}): number {
  return jittered(validateBackoffOptions(options), Math.max(0, failures - 1));
}

function jittered(policy: Required<BackoffOptions>, previousFailures: number): number {
  const nominal = Math.min(policy.maxMs, policy.initialMs * policy.factor ** previousFailures);
  return nominal / 2 + (nominal / 2) * policy.random();
}

export function createBackoff(options: BackoffOptions = {}): Backoff {
  const policy = validateBackoffOptions(options);
  let failures = 0;
  return {
    next() {
      const delay = jittered(policy, failures);
      failures += 1;
      return delay;
    },
    reset() {
      failures = 0;
    },
    get failures() {
      return failures;
    },
  };
}

/** Resolves after `ms`, or at once (without rejecting) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export interface LoopOptions extends BackoffOptions {
  /** Pause between successful iterations. */
  intervalMs: number;
  /** Stops the loop; the current iteration finishes first. */
  signal: AbortSignal;
  /** Told of each failure and the delay before the next try (log it there). */
  onError?: (error: unknown, delayMs: number, failures: number) => void;
}

/**
 * Runs `iteration` every `intervalMs` until `signal` aborts; a failing iteration is retried
 * after the shared backoff instead of the interval, and success resets the backoff. Never
 * rejects: a background loop must survive every broken connection.
 */
export async function runLoop(
  iteration: (signal: AbortSignal) => Promise<void>,
  options: LoopOptions,
): Promise<void> {
  const backoff = createBackoff(options);
  while (!options.signal.aborted) {
    let delay = options.intervalMs;
    try {
      await iteration(options.signal);
      backoff.reset();
    } catch (error) {
      delay = backoff.next();
      options.onError?.(error, delay, backoff.failures);
    }
    await sleep(delay, options.signal);
  }
}
