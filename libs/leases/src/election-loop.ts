import { call, notify } from "./election-calls";
import { type Election, LEADER } from "./election-context";
import { acquire } from "./leader-acquire";
import { renew } from "./leader-renew";

/** LeaderElection.start: the first tick, once. */
export function startElection(election: Election): void {
  if (election.state !== "idle") return;
  election.state = "follower";
  election.inFlight = tick(election);
}

/** One renewal (leader) or attempt (follower), then the next tick is scheduled. */
async function tick(election: Election): Promise<void> {
  const { renewIntervalMs, backoff, logger } = election;
  election.loopTimer = undefined;
  if (election.state === "stopped") return;
  let delay = renewIntervalMs;
  try {
    delay = election.state === "leader" ? await renew(election) : await acquire(election);
    election.failures = 0;
    backoff.reset();
  } catch (error) {
    election.failures++;
    delay = backoff.next();
    if (election.failures === 1 || election.failures % 20 === 0) {
      logger?.warn(
        {
          error: String((error as Error)?.message ?? error),
          failures: election.failures,
          leader: election.state === "leader",
        },
        "leader election call failed; retrying",
      );
    }
  }
  // stop() may have run while we awaited (TypeScript cannot see that).
  if ((election.state as Election["state"]) !== "stopped") {
    election.loopTimer = setTimeout(
      () => {
        election.inFlight = tick(election);
      },
      Math.min(delay, renewIntervalMs),
    );
  }
}

/** LeaderElection.stop: a leader is told ("stopped") first, then its lease is released. */
export async function stopElection(election: Election): Promise<void> {
  if (election.state === "stopped") return;
  const ended = election.state === "leader" ? election.term : undefined;
  election.state = "stopped";
  election.term = undefined;
  clearTimeout(election.loopTimer);
  clearTimeout(election.deadlineTimer);
  election.clock.forget(LEADER);
  if (ended !== undefined) {
    notify(election, "onDemoted", () => election.options.onDemoted?.("stopped", ended));
    try {
      await call(
        election,
        election.run("geoLeaseLeaderRelease", [election.key], [ended.token]),
        "leader release",
      );
    } catch (error) {
      election.logger?.warn(
        { error: String(error) },
        "could not release the leader lease; it expires",
      );
    }
  }
  await election.inFlight?.catch(() => {});
}
