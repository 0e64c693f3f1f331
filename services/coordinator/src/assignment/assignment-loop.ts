// The leader's assignment loop. Each round reads what is (discovered units, agents with a session,
// agents live in Redis, the units' leases), plans where units should run (./plan), and moves them
// there through the lease store: revoke a live owner, grant the new one once the owner released
// or its lease can no longer be trusted (the grant script decides), then tell every agent its full
// desired set in an AssignmentSnapshot (one round, step by step: ./round). Rounds run on discovery
// changes, session events, at the moment a refused grant may succeed, when a live agent's lease
// may expire, and every interval (./round-scheduler). Only a leader runs rounds; every grant and
// revoke carries its term's fence, so a deposed leader is refused by Redis itself.
import type { FlowConfig, GeoConfig } from "@geo/config";
import type { LeaderTerm } from "@geo/leases";
import type { Logger } from "@geo/logging";
import type { DesiredUnit } from "../discovery";
import {
  type AgentDirectory,
  type AssignmentStore,
  type AssignmentView,
  type MinEpochOf,
  noRecordedEpochs,
} from "./assignment-types";
import { createRequestTraces } from "./request-traces";
import { type RoundDeps, runRound } from "./round";
import { errorText, KICK_DELAY_MS } from "./round-context";
import { createRoundScheduler } from "./round-scheduler";
import { standbyView } from "./round-status";
import { createTerm, type Term } from "./term";
import { createUnitLoads } from "./unit-loads";

export type {
  AgentDirectory,
  AssignmentStore,
  AssignmentView,
  ConnectedAgent,
  MinEpochOf,
} from "./assignment-types";
export { noRecordedEpochs } from "./assignment-types";
export { flowSpecOf } from "./snapshots";

export interface AssignmentLoopOptions {
  readonly config: GeoConfig;
  readonly logger: Logger;
  readonly store: AssignmentStore;
  readonly directory: AgentDirectory;
  /** Units discovery wants run. */
  readonly units: () => readonly DesiredUnit[];
  /** Current flow definitions (paused flows' units are not assigned). Default: the file's. */
  readonly flows?: () => readonly FlowConfig[];
  /** A flow's version, which agents receive with its spec. Default: 1 (file flows). */
  readonly flowVersion?: (flow: string) => bigint;
  /** Default noRecordedEpochs. */
  readonly minEpochOf?: MinEpochOf;
  /** Longest time between rounds. Default 2000 ms. */
  readonly intervalMs?: number;
  /**
   * How long a live agent without session keeps its units (after its session broke, or after
   * this coordinator became leader) before they move. Default the lease TTL, and at least
   * MIN_HOLD_MS: a live agent runs its units, and moving them only costs a re-copied window.
   */
  readonly holdMs?: number;
  /** Passed to computeAssignment. */
  readonly maxLoadRatio?: number;
  /**
   * How long a new term may keep units on their live owners while it waits for their loads
   * (balancing on guessed loads moves units for nothing). Default 10 s; 0 balances at once.
   */
  readonly loadWarmupMs?: number;
  /**
   * How long a new term's rounds must keep wanting a balancing move, once they know the loads,
   * before it moves units its previous leader placed. Default 10 s; 0 moves at once.
   */
  readonly loadSettleMs?: number;
  /** Parallel grant/revoke scripts in flight. Default 64. */
  readonly concurrency?: number;
  /** Monotonic ms; default performance.now. */
  readonly now?: () => number;
}

export interface AssignmentLoop {
  /** This coordinator became leader: start rounds under this term. */
  startTerm(term: LeaderTerm): void;
  /** The term ended: no more grants or revokes. */
  endTerm(): void;
  /** Runs a round soon (coalesced). */
  kick(why: string): void;
  /** What the last round decided, for status. */
  view(): AssignmentView;
  /** Runs a round now and resolves when it (or the one running) is done. For tests. */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * After a coordinator restart the agents reconnect with jittered backoff (up to a few seconds
 * after it listens again); a hold as short as a lease TTL made the late ones look gone, their
 * units moved to the first agent back and then moved back when they reconnected.
 */
export const MIN_HOLD_MS = 15_000;
/** Longest a new leader waits for the agents' load reports before it balances by load. */
const LOAD_WARMUP_MS = 10_000;
/** A unit's load is its source's growth over a 10 s window: a burst is gone from it by then. */
const LOAD_SETTLE_MS = 10_000;

export function createAssignmentLoop(options: AssignmentLoopOptions): AssignmentLoop {
  const logger = options.logger.child({ component: "assignment" });
  let term: Term | undefined;
  let stopped = false;
  let view: AssignmentView = standbyView(0n);
  const deps = roundDeps(options, logger, {
    isCurrent: (current) => term === current,
    lostTerm(current) {
      if (term !== current) return;
      logger.warn("Redis refused this coordinator's fence: no longer the leader");
      endTerm();
    },
    // Called by the round itself, in the same tick as its last check that the term is current:
    // an endTerm between that check and here would otherwise be overwritten by a leading view.
    finished(outcome) {
      view = outcome.view;
      rounds.schedule(outcome.wakeIn);
    },
  });
  const rounds = createRoundScheduler({
    now: deps.now,
    canRun: () => !stopped && term !== undefined,
    run: () => (term === undefined ? Promise.resolve() : runUnder(term)),
  });

  const runUnder = (current: Term): Promise<void> =>
    runRound(deps, current).catch((error: unknown) => {
      logger.warn({ err: errorText(error) }, "assignment round failed; retrying");
      if (term === current) rounds.schedule(Math.min(deps.settings.intervalMs, 500));
    });

  function endTerm() {
    if (term === undefined) return;
    term = undefined;
    rounds.cancel();
    view = standbyView(view.generation);
  }

  return {
    startTerm(lease: LeaderTerm) {
      endTerm();
      term = createTerm(lease, deps.now());
      logger.info({ leaderEpoch: String(lease.epoch) }, "leading: assignment rounds start");
      rounds.schedule(0);
    },
    endTerm() {
      if (term !== undefined) logger.info("no longer leading: assignment rounds stop");
      endTerm();
    },
    kick(why) {
      if (term === undefined) return;
      deps.requestTraces.remember();
      logger.trace({ why }, "assignment round requested");
      rounds.schedule(KICK_DELAY_MS);
    },
    view: () => view,
    runOnce: () => rounds.trigger(),
    async stop() {
      stopped = true;
      endTerm();
      await rounds.running();
    },
  };
}

/** The options with their defaults, as a round uses them. */
function roundDeps(
  options: AssignmentLoopOptions,
  logger: Logger,
  hooks: Pick<RoundDeps, "isCurrent" | "lostTerm" | "finished">,
): RoundDeps {
  const { config, directory } = options;
  const { ttlMs, graceMs } = config.leases;
  return {
    config,
    store: options.store,
    directory,
    logger,
    settings: {
      ttlMs,
      graceMs,
      intervalMs: options.intervalMs ?? 2000,
      holdMs: options.holdMs ?? Math.max(ttlMs, MIN_HOLD_MS),
      concurrency: options.concurrency ?? 64,
      loadWarmupMs: options.loadWarmupMs ?? LOAD_WARMUP_MS,
      loadSettleMs: options.loadSettleMs ?? LOAD_SETTLE_MS,
      maxLoadRatio: options.maxLoadRatio,
    },
    units: options.units,
    flows: options.flows ?? (() => config.flows),
    flowVersion: options.flowVersion ?? (() => 1n),
    minEpochOf: options.minEpochOf ?? noRecordedEpochs,
    loads: createUnitLoads(directory),
    // An admin request's trace continues in the round that sends the snapshots it caused.
    requestTraces: createRequestTraces(),
    now: options.now ?? (() => performance.now()),
    ...hooks,
  };
}
