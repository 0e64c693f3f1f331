// Runs the steps of one transition and records each (name, description, duration, outcome):
// into the group's lock in Redis for a real transition, in memory for a drill.
import { CodedError } from "@geo/errors";
import { GeoError } from "@geo/grpc";
import type { RegionPhase, RegionStore, StepRecord } from "@geo/region-state";

export class StepFailed extends CodedError<"STEP_FAILED"> {
  constructor(message: string | undefined) {
    super("STEP_FAILED", message ?? "");
  }
}

/** What a step's work answers: its detail, or that it had nothing to do (see {@link skipped}). */
export type StepOutcome = string | { readonly detail: string; readonly skipped: true };

/** The step had nothing to do for its subject: recorded ok and skipped, with why. */
export const skipped = (detail: string): StepOutcome => ({ detail, skipped: true });

export interface StepRecorder {
  readonly steps: StepRecord[];
  /** Runs `work`; its string is the step's detail. Returns false (recorded) when it throws. */
  run(
    name: string,
    description: string,
    work: () => Promise<StepOutcome>,
    phase?: RegionPhase,
  ): Promise<boolean>;
  /** Runs a step that must succeed: throws StepFailed when it fails. */
  must(name: string, description: string, work: () => Promise<StepOutcome>): Promise<void>;
  /** The first failed step's error. */
  readonly error: string | undefined;
}

export function createStepRecorder(
  lock: { store: RegionStore; flowGroup: string; id: string } | undefined,
): StepRecorder {
  const steps: StepRecord[] = [];
  let error: string | undefined;
  const recorder: StepRecorder = {
    steps,
    get error() {
      return error;
    },
    async run(name, description, work, phase) {
      const startTimeMs = Date.now();
      const started = performance.now();
      let ok = true;
      let outcome: StepOutcome;
      // A long step (a drain can wait for minutes) renews the lock meanwhile, or another
      // service would take the group as abandoned.
      const renew =
        lock === undefined
          ? undefined
          : setInterval(
              () => void lock.store.step(lock.flowGroup, lock.id).catch(() => undefined),
              Math.max(100, Math.floor(lock.store.lockTtlMs / 3)),
            );
      try {
        outcome = await work();
      } catch (caught) {
        ok = false;
        const detail =
          caught instanceof GeoError
            ? `${caught.codeName}: ${caught.message}`
            : (caught as Error).message;
        error ??= `${name}: ${detail}`;
        outcome = detail;
      } finally {
        clearInterval(renew);
      }
      const step: StepRecord = {
        name,
        description,
        startTimeMs,
        durationMs: Math.round(performance.now() - started),
        ok,
        ...(typeof outcome === "string"
          ? { detail: outcome }
          : { skipped: true, detail: outcome.detail }),
      };
      steps.push(step);
      if (lock !== undefined) await lock.store.step(lock.flowGroup, lock.id, step, phase);
      return ok;
    },
    async must(name, description, work) {
      if (!(await recorder.run(name, description, work))) throw new StepFailed(error);
    },
  };
  return recorder;
}

/** Polls `probe` until it answers a detail string, or fails with its last state at the deadline. */
export async function until(
  what: string,
  timeoutMs: number,
  pollMs: number,
  probe: () => Promise<{ done: true; detail: string } | { done: false; state: string }>,
): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const result = await probe();
    if (result.done) return result.detail;
    if (performance.now() >= deadline) {
      throw new Error(`${what} did not happen within ${timeoutMs} ms (last: ${result.state})`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
