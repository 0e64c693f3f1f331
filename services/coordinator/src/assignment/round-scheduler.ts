// When rounds run: one at a time, coalesced (a request while one runs makes one more run after
// it), at the earliest time asked for.
export interface RoundScheduler {
  /** Runs a round in delayMs, unless one is already due sooner. */
  schedule(delayMs: number): void;
  /** Runs a round now, or once more after the one running; resolves when that one is done. */
  trigger(): Promise<void>;
  /** Drops the round due (the one running, if any, finishes). */
  cancel(): void;
  /** The round running now, if any. */
  running(): Promise<void> | undefined;
}

export interface RoundSchedulerOptions {
  /** Monotonic ms. */
  readonly now: () => number;
  /** False while no round may run (not leading, or stopped). */
  readonly canRun: () => boolean;
  /** One round; must not reject. */
  readonly run: () => Promise<void>;
}

export function createRoundScheduler(options: RoundSchedulerOptions): RoundScheduler {
  const { now, canRun } = options;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  let running: Promise<void> | undefined;
  let again = false;

  const cancel = () => {
    clearTimeout(timer);
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
  };
  const schedule = (delayMs: number) => {
    if (!canRun()) return;
    const at = now() + Math.max(0, delayMs);
    if (timer !== undefined && at >= timerAt) return;
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(
      () => {
        timer = undefined;
        timerAt = Number.POSITIVE_INFINITY;
        void trigger();
      },
      Math.max(0, delayMs),
    );
  };
  const trigger = (): Promise<void> => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    if (!canRun()) return Promise.resolve();
    running = options.run().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        schedule(0);
      }
    });
    return running;
  };
  return { schedule, trigger, cancel, running: () => running };
}
