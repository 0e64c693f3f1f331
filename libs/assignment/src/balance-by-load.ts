import { AgentLevels } from "./agent-levels";
import type { LoadBalance, LoadBalanceOutcome } from "./load-balance";
import { pinOversize } from "./pin-oversize";
import { repairPass } from "./repair-pass";

export type { LoadBalance, LoadBalanceOutcome } from "./load-balance";

// Each pass starts from fresh heaps; a later pass only finds work when an earlier one gave up on
// an agent too soon, and ends the run when it finds none.
const MAX_PASSES = 16;

/**
 * Places units with a measured load so that every agent stays within `maxLoadRatio` of its fair
 * share where the units allow it, moving as few units as that takes:
 * - units stay on their previous agent unless balance needs them elsewhere;
 * - units without a (live) agent go, heaviest first, to the least loaded agent;
 * - an agent above `maxLoadRatio × share` sheds units to the least loaded agents until it is
 *   within the bound, preferring one unit that clears the excess, then exchanges of a big unit
 *   for smaller ones (`repair-pass.ts`, `pick-move.ts`);
 * - an agent below `share / maxLoadRatio` (a new agent, typically) is refilled up to its share
 *   from the most loaded agents, so it does not sit at the edge of the band and trip it again.
 * A unit heavier than the bound on any agent is given an agent of its own and left out of the
 * fair share of the others (`pin-oversize.ts`).
 *
 * Every move (or exchange) leaves both agents below the giver's level before it, so the sorted
 * vector of agent levels falls lexicographically at each step: the loop cannot cycle.
 */
export function balanceByLoad(balance: LoadBalance): LoadBalanceOutcome {
  const agents = balance.capacity.length;
  const pinned = new Uint8Array(agents);
  if (balance.end === 0 || agents === 0) return { oversize: [], pinned, passes: 0 };

  const agentLoad = new Float64Array(agents);
  const pins = pinOversize(balance, pinned, agentLoad);
  const share = Math.max(pins.remainingLoad, 0) / pins.remainingCapacity;
  const levels = new AgentLevels(balance, pinned, agentLoad, share);
  const pool = levels.keepPrevious(pins.next);
  levels.recompute();
  levels.placeOnLeastLoaded(pool);

  let passes = 0;
  while (passes < MAX_PASSES) {
    passes++;
    levels.recompute();
    if (repairPass(levels) === 0) break;
  }
  return { oversize: pins.oversize, pinned, passes };
}
