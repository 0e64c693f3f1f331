// One leadership term's memory across rounds: what it decided, what it confirmed in Redis, and what
// it already told each agent session.
import type { LeaderTerm } from "@geo/leases";
import type { Holding } from "./plan";

export interface Term {
  readonly lease: LeaderTerm;
  readonly startedAt: number;
  /** Generations of this term start above every earlier term's: leader epoch in the high bits. */
  readonly generationBase: bigint;
  generation: bigint;
  lastDesired: Map<string, string>;
  confirmed: Map<string, Holding>;
  /** Unit → `${sessionId}/${epoch}` a Revoke was sent for. */
  revokeSent: Map<string, string>;
  /** Session → signature of the last snapshot sent on it. */
  snapshots: Map<string, string>;
  notes: Map<string, string>;
  computeTime: Date | undefined;
  /**
   * Set once the term's complete load view confirmed the placement it inherited (a round wanted
   * no balancing move) or kept wanting a move for loadSettleMs: from then on it balances freely.
   */
  loadsSettled: boolean;
  /** Since when (monotonic ms) the unsettled term's rounds want a balancing move. */
  balanceWantedSince: number | undefined;
}

export function createTerm(lease: LeaderTerm, startedAt: number): Term {
  return {
    lease,
    startedAt,
    generationBase: lease.epoch << 32n,
    generation: 0n,
    lastDesired: new Map(),
    confirmed: new Map(),
    revokeSent: new Map(),
    snapshots: new Map(),
    notes: new Map(),
    computeTime: undefined,
    loadsSettled: false,
    balanceWantedSince: undefined,
  };
}
