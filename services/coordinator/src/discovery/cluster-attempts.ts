// Backoff per cluster: a cluster that fails is skipped until its retry time, its failure is logged
// once (and again when the reason changes), its recovery too. What the rounds and the status read.
import { type Backoff, createBackoff } from "@geo/backoff";
import type { Logger } from "@geo/logging";
import { errorMessage } from "./topic-admin";

export type ClusterRole = "source" | "target";

export interface ClusterTrack {
  failures: number;
  backoff: Backoff;
  retryAt: number;
  error?: string;
  since?: Date;
}

export interface ClusterAttempts {
  /** Runs `action` for a cluster unless it is backing off; undefined when skipped or failed. */
  attempt<T>(role: ClusterRole, alias: string, action: () => Promise<T>): Promise<T | undefined>;
  /** Attempts `action` on each cluster in parallel; the map holds the clusters that answered. */
  each<T>(
    role: ClusterRole,
    aliases: Iterable<string>,
    action: (alias: string) => Promise<T>,
  ): Promise<Map<string, T>>;
  /** The cluster's failure record; undefined before its first attempt. */
  track(role: ClusterRole, alias: string): ClusterTrack | undefined;
}

export interface ClusterAttemptsOptions {
  readonly intervalMs: number;
  readonly maxBackoffMs: number;
  readonly logger: Logger;
  /** True once discovery stops: nothing more is attempted, failures are no longer logged. */
  readonly isStopped: () => boolean;
  readonly onFailure?: (alias: string, role: ClusterRole) => void;
}

export function createClusterAttempts(options: ClusterAttemptsOptions): ClusterAttempts {
  const { intervalMs, maxBackoffMs, logger, isStopped } = options;
  const tracks = new Map<string, ClusterTrack>();

  const trackFor = (role: ClusterRole, alias: string): ClusterTrack => {
    const key = `${role}:${alias}`;
    let track = tracks.get(key);
    if (track === undefined) {
      const backoff = createBackoff({
        initialMs: intervalMs,
        maxMs: Math.max(intervalMs, maxBackoffMs),
      });
      track = { failures: 0, backoff, retryAt: 0 };
      tracks.set(key, track);
    }
    return track;
  };

  const attempts: ClusterAttempts = {
    async attempt(role, alias, action) {
      const track = trackFor(role, alias);
      if (isStopped() || Date.now() < track.retryAt) return undefined;
      try {
        const result = await action();
        recordSuccess(logger, track, role, alias);
        return result;
      } catch (error) {
        recordFailure(options, track, role, alias, error);
        return undefined;
      }
    },
    async each(role, aliases, action) {
      const answered = new Map();
      await Promise.all(
        [...new Set(aliases)].map(async (alias) => {
          const result = await attempts.attempt(role, alias, () => action(alias));
          if (result !== undefined) answered.set(alias, result);
        }),
      );
      return answered;
    },
    track: (role, alias) => tracks.get(`${role}:${alias}`),
  };
  return attempts;
}

function recordSuccess(
  logger: Logger,
  track: ClusterTrack,
  role: ClusterRole,
  alias: string,
): void {
  if (track.failures > 0) {
    logger.info(
      { cluster: alias, role, failures: track.failures },
      `${role} cluster ${alias} answers again`,
    );
  }
  track.failures = 0;
  track.backoff.reset();
  track.retryAt = 0;
  track.error = undefined;
  track.since = undefined;
}

function recordFailure(
  options: ClusterAttemptsOptions,
  track: ClusterTrack,
  role: ClusterRole,
  alias: string,
  error: unknown,
): void {
  const { logger, isStopped } = options;
  const message = errorMessage(error);
  track.failures += 1;
  track.since ??= new Date();
  const backoff = Math.round(track.backoff.next());
  track.retryAt = Date.now() + backoff;
  if (!isStopped() && message !== track.error) {
    logger.warn(
      { cluster: alias, role, err: message, retryInMs: backoff },
      `discovery could not reach ${role} cluster ${alias}; keeping what was last known`,
    );
  }
  track.error = message;
  options.onFailure?.(alias, role);
}
