import { randomUUID } from "node:crypto";
import { NO_EPOCH } from "@geo/positions";
import { call, notify, releaseQuietly } from "./election-calls";
import { type Election, LEADER } from "./election-context";
import type { LeaderTerm } from "./leader-election-types";
import { armDeadline } from "./leader-term";
import { LeaseError } from "./lease-error";
import { checkEpoch, replyEpoch } from "./validate";

/**
 * A follower's attempt: SET NX PX with an epoch bump (one script). Elected only if the answer
 * came in time to lead on and stop() did not run meanwhile. Returns the delay to the next tick.
 */
export async function acquire(election: Election): Promise<number> {
  const { options, key, id, ttlMs, renewIntervalMs, recoveryMs, stateKey, run, clock } = election;
  const min =
    typeof options.minEpoch === "function"
      ? await options.minEpoch()
      : (options.minEpoch ?? NO_EPOCH);
  const minArg = checkEpoch("minEpoch", min);
  const token = `${id}/${randomUUID()}`;
  const ticket = clock.beginRenew();
  let reply: unknown;
  try {
    reply = await call(
      election,
      run("geoLeaseLeaderAcquire", [key, stateKey], [token, ttlMs, minArg, recoveryMs]),
      "leader acquire",
    );
  } catch (error) {
    releaseQuietly(election, token);
    throw error;
  }
  const [won, outcome, value, retry] = Array.isArray(reply) ? reply : [];
  if (won !== 1) {
    if (outcome === "recovering") return Math.max(1, Number(retry));
    if (outcome !== "held") {
      throw new LeaseError("UNEXPECTED_REPLY", `leader acquire answered ${JSON.stringify(reply)}`);
    }
    return renewIntervalMs;
  }
  const epoch = replyEpoch("leader acquire epoch", value);
  clock.confirm(ticket, [{ unitId: LEADER, epoch }]);
  if (election.state === "stopped" || !clock.isTrusted(LEADER)) {
    // Stopped meanwhile, or the answer came too late to lead on.
    clock.forget(LEADER);
    releaseQuietly(election, token);
    return renewIntervalMs;
  }
  const elected: LeaderTerm = { epoch, token, fence: { key, token } };
  election.state = "leader";
  election.term = elected;
  armDeadline(election);
  election.logger?.info({ epoch: String(epoch) }, "elected leader");
  notify(election, "onElected", () => options.onElected?.(elected));
  return renewIntervalMs;
}
