import { createElection, LEADER } from "./election-context";
import { startElection, stopElection } from "./election-loop";
import type { LeaderElection, LeaderElectionOptions } from "./leader-election-types";
import { leading } from "./leader-term";

/**
 * Leader lease on one Redis key: acquire with SET NX PX (plus an epoch bump, in one script),
 * renew with compare-and-pexpire, release with compare-and-delete. A leader trusts its term
 * until renew-sent + ttl - margin on the monotonic clock and demotes itself when that passes
 * without a successful renewal, whether Redis answered "not yours", did not answer, or the
 * process was paused. Errors are retried with the shared jittered backoff (from 50 ms, capped at the renew
 * interval) until then.
 *
 * The parts, each in a file named after it: the election's settings and state
 * (election-context), its bounded Redis calls (election-calls), the term's local deadline and
 * demotion (leader-term), acquisition (leader-acquire), renewal (leader-renew), and the
 * tick/start/stop loop (election-loop).
 */
export function createLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const election = createElection(options);
  return {
    start: () => startElection(election),
    stop: () => stopElection(election),
    isLeader: () => leading(election),
    term: () => (leading(election) ? election.term : undefined),
    msLeft: () => (election.state === "leader" ? election.clock.msLeft(LEADER) : 0),
  };
}
