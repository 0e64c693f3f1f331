// What the steps of one round share: the term it runs under, the leases as this round knows them,
// the notes it writes for status, and when the next round should run.
import type { Logger } from "@geo/logging";
import type { DesiredUnit } from "../discovery";
import type { AgentDirectory, AssignmentStore, ConnectedAgent } from "./assignment-types";
import type { PlanLease } from "./plan";
import type { Term } from "./term";

/** Delay of a round asked for by an event (coalesces bursts). */
export const KICK_DELAY_MS = 20;
/** Added to a wake-up computed from Redis, so the round runs just after the moment, not before. */
export const RETRY_SLACK_MS = 5;

export interface RoundSettings {
  readonly ttlMs: number;
  readonly graceMs: number;
  /** Longest time between rounds. */
  readonly intervalMs: number;
  /** Parallel grant/revoke scripts in flight. */
  readonly concurrency: number;
}

export interface RoundContext {
  readonly term: Term;
  readonly store: AssignmentStore;
  readonly directory: AgentDirectory;
  readonly logger: Logger;
  readonly settings: RoundSettings;
  /** Open sessions by agent id, as this round saw them. */
  readonly sessionOf: ReadonlyMap<string, ConnectedAgent>;
  /** Units of running flows by id. */
  readonly unitById: ReadonlyMap<string, DesiredUnit>;
  /** The units' leases, updated as this round revokes and grants. */
  readonly leases: Map<string, PlanLease>;
  /** Unit → why it is not (yet) where it should be, for status. */
  readonly notes: Map<string, string>;
  /** False once the term ended (or another began) while the round awaited Redis. */
  isCurrent(): boolean;
  /** Redis refused the term's fence: this coordinator is no longer the leader. */
  lostTerm(): void;
  /** Asks for the next round within ms (the earliest request wins). */
  wake(ms: number): void;
}

/** The earliest wake-up the steps of a round asked for, at most intervalMs away. */
export function createWake(intervalMs: number): { wake(ms: number): void; wakeIn(): number } {
  let wakeIn = intervalMs;
  return {
    wake(ms) {
      wakeIn = Math.min(wakeIn, Math.max(0, ms));
    },
    wakeIn: () => wakeIn,
  };
}

/** Runs fn over items with at most limit calls in flight. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
