import type { Election } from "./election-context";
import { LeaseError } from "./lease-error";

/** A Redis call of the election, rejected when it has not answered within the renew interval. */
export function call<T>(election: Election, promise: Promise<T>, what: string): Promise<T> {
  const { renewIntervalMs } = election;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new LeaseError("REDIS_UNAVAILABLE", `${what}: no answer within ${renewIntervalMs} ms`),
        ),
      renewIntervalMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function releaseQuietly(election: Election, token: string): void {
  // Queued on the same connection after whatever is in flight, so it also undoes a late
  // acquisition or renewal that we stopped waiting for.
  election
    .run("geoLeaseLeaderRelease", [election.key], [token])
    .catch((error) =>
      election.logger?.debug({ error: String(error) }, "leader lease release failed"),
    );
}

/** Runs a caller's callback; one that throws is logged and does not stop the election. */
export function notify(election: Election, what: string, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    election.logger?.error({ error: String(error) }, `${what} callback threw`);
  }
}
