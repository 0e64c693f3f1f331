// Runs discovery rounds one at a time: every interval after the previous one ended, or on demand
// (joining a round already running). Once stopped, no round starts and stop() waits for the last.
import type { Logger } from "@geo/logging";
import { errorMessage } from "./topic-admin";

export interface RoundScheduler {
  /** Starts the periodic rounds (the first at once) after calling `onStart`; later calls do nothing. */
  start(onStart: () => void): void;
  stop(): Promise<void>;
  /** Runs a round now (or joins the one running); does nothing once stopped. */
  refresh(): Promise<void>;
  /** Set by stop(): rounds skip what is left, so a shutdown is not held up by slow clusters. */
  isStopped(): boolean;
}

export function createRoundScheduler(
  intervalMs: number,
  round: () => Promise<void>,
  logger: Logger,
): RoundScheduler {
  let started = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const runRound = (): Promise<void> => {
    running ??= round()
      .catch((error) => logger.error({ err: errorMessage(error) }, "discovery round failed"))
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      void runRound().then(schedule);
    }, intervalMs);
  };

  return {
    start(onStart) {
      if (started || stopped) return;
      started = true;
      onStart();
      void runRound().then(schedule);
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running;
    },
    refresh: () => (stopped ? Promise.resolve() : runRound()),
    isStopped: () => stopped,
  };
}
