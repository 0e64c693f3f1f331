import { call } from "./election-calls";
import { type Election, LEADER } from "./election-context";
import { armDeadline, demote } from "./leader-term";

/**
 * The leader's compare-and-pexpire. "Not ours" ends the term ("lost"); an answer that came
 * after the local deadline ends it too ("deadline"). Returns the delay to the next tick.
 */
export async function renew(election: Election): Promise<number> {
  const { key, ttlMs, renewIntervalMs, run, clock } = election;
  const current = election.term!;
  const ticket = clock.beginRenew();
  const renewed = await call(
    election,
    run("geoLeaseLeaderRenew", [key], [current.token, ttlMs]),
    "leader renew",
  );
  if (election.term !== current) return renewIntervalMs;
  if (renewed !== 1) {
    demote(election, "lost");
    return renewIntervalMs;
  }
  clock.confirm(ticket, [{ unitId: LEADER, epoch: current.epoch }]);
  if (clock.isTrusted(LEADER)) armDeadline(election);
  else demote(election, "deadline");
  return renewIntervalMs;
}
