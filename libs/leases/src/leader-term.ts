import { notify, releaseQuietly } from "./election-calls";
import { type Election, LEADER } from "./election-context";
import type { DemotionReason } from "./leader-election-types";

/** Ends the term (if leading): callers are told first, and a "deadline" term's lease released. */
export function demote(election: Election, reason: DemotionReason): void {
  const ended = election.term;
  if (election.state !== "leader" || ended === undefined) return;
  election.state = "follower";
  election.term = undefined;
  election.clock.forget(LEADER);
  clearTimeout(election.deadlineTimer);
  election.logger?.warn({ reason, epoch: String(ended.epoch) }, "demoted");
  notify(election, "onDemoted", () => election.options.onDemoted?.(reason, ended));
  if (reason === "deadline") releaseQuietly(election, ended.token);
}

// Asked after a pause, before the deadline timer had a chance to run: the answer is no, and
// the term ends now rather than when the timer fires.
export function leading(election: Election): boolean {
  if (election.state !== "leader") return false;
  if (election.clock.isTrusted(LEADER)) return true;
  demote(election, "deadline");
  return false;
}

/** (Re)arms the timer that demotes the leader at its local deadline. */
export function armDeadline(election: Election): void {
  clearTimeout(election.deadlineTimer);
  election.deadlineTimer = setTimeout(
    () => {
      if (election.state !== "leader") return;
      if (election.clock.isTrusted(LEADER)) armDeadline(election);
      else demote(election, "deadline");
    },
    Math.ceil(election.clock.msLeft(LEADER)),
  );
}
