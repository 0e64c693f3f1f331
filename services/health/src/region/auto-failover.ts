// Automatic failover (flowGroups[].autoFailover, off by default): every probe interval, each
// enabled group whose active cluster has failed every probe for `unreachableForMs` is failed
// over to its other region through the same runner, checks and report as a manual Failover
// (never forced: `failoverAfterProbeFailures`, live agents and the rest still apply). It acts
// only on a STABLE group with no transition running: after a failover (FAILED_OVER) the group
// waits for an operator's failback or switchover, so it never fails over twice on its own. Two
// health services deciding at once meet at the store's compare-and-set: one moves, the other is
// refused. A refused or failed attempt is retried with backoff while the cluster stays down.
import { createBackoff, runLoop } from "@geo/backoff";
import type { FlowGroupConfig } from "@geo/config";
import { GeoError } from "@geo/grpc";
import type { Logger } from "@geo/logging";
import type { RegionGroup, RegionState } from "@geo/region-state";
import type { ClusterProbes } from "./dependencies";
import type { TransitionRequest, TransitionResult } from "./transition-runner";

/** The actor of every automatic failover, so the record says it was not an operator. */
export const AUTO_FAILOVER_ACTOR = "health/auto-failover";

export type AutoDecision =
  | { readonly failover: false; readonly why: string }
  | { readonly failover: true; readonly toRegion: string; readonly reason: string };

/** Whether the group should fail over now, and why (not). Pure: the loop and tests call it. */
export function decideAutoFailover(
  group: RegionGroup,
  config: FlowGroupConfig,
  state: RegionState,
  probes: Pick<ClusterProbes, "unreachableSinceMs" | "consecutiveFailures">,
  nowMs: number,
): AutoDecision {
  if (!config.autoFailover.enabled) return { failover: false, why: "autoFailover is disabled" };
  if (state.transition !== undefined)
    return { failover: false, why: `transition ${state.transition.id} is running` };
  if (state.phase !== "stable") {
    return {
      failover: false,
      why: `the group is ${state.phase}: after a move only an operator moves it again`,
    };
  }
  const active = group.regions.find((r) => r.region === state.activeRegion);
  const other = group.regions.find((r) => r.region !== state.activeRegion);
  if (active === undefined || other === undefined)
    return { failover: false, why: `active region ${state.activeRegion} is not in the group` };
  const since = probes.unreachableSinceMs(active.cluster);
  if (since === undefined) return { failover: false, why: `${active.cluster} answers` };
  const downMs = nowMs - since;
  const neededMs = config.autoFailover.unreachableForMs;
  if (downMs < neededMs) {
    return {
      failover: false,
      why: `${active.cluster} unreachable for ${downMs} ms, less than ${neededMs} ms`,
    };
  }
  // The failover's own check, asked first: an attempt refused by it would only add backoff.
  const failures = probes.consecutiveFailures(active.cluster);
  if (failures < config.failoverAfterProbeFailures) {
    return {
      failover: false,
      why: `${active.cluster} failed ${failures} of the ${config.failoverAfterProbeFailures} probes a failover needs`,
    };
  }
  return {
    failover: true,
    toRegion: other.region,
    reason: `automatic failover: cluster ${active.cluster} (${active.region}) unreachable for ${(downMs / 1000).toFixed(1)} s, at least flowGroups[].autoFailover.unreachableForMs ${neededMs} ms`,
  };
}

export interface AutoFailoverOptions {
  readonly groups: ReadonlyMap<string, RegionGroup>;
  readonly groupConfigs: readonly FlowGroupConfig[];
  readonly state: (flowGroup: string) => Promise<RegionState>;
  readonly run: (request: TransitionRequest) => Promise<TransitionResult>;
  readonly probes: Pick<ClusterProbes, "unreachableSinceMs" | "consecutiveFailures">;
  readonly logger: Logger;
  /** How often the groups are looked at: the health monitor's probe interval. */
  readonly intervalMs: number;
}

export interface AutoFailover {
  /** One look at every enabled group (the loop calls it every interval). */
  check(): Promise<void>;
  stop(): Promise<void>;
}

export function startAutoFailover(options: AutoFailoverOptions): AutoFailover {
  const { logger } = options;
  const enabled = options.groupConfigs.filter((c) => c.autoFailover.enabled);
  const retry = new Map(
    enabled.map((c) => [
      c.name,
      { backoff: createBackoff({ initialMs: 2000, maxMs: 30_000 }), atMs: 0 },
    ]),
  );

  async function attempt(config: FlowGroupConfig): Promise<void> {
    const group = options.groups.get(config.name)!;
    const pending = retry.get(config.name)!;
    if (Date.now() < pending.atMs) return;
    const state = await options.state(config.name);
    const decision = decideAutoFailover(group, config, state, options.probes, Date.now());
    if (!decision.failover) return;
    const context = { flowGroup: config.name, toRegion: decision.toRegion, epoch: state.epoch };
    logger.warn({ ...context, reason: decision.reason }, "starting an automatic failover");
    try {
      const { record } = await options.run({
        kind: "failover",
        flowGroup: config.name,
        targetRegion: decision.toRegion,
        expectedEpoch: state.epoch,
        consumerGroups: [],
        dryRun: false,
        actor: AUTO_FAILOVER_ACTOR,
        reason: decision.reason,
        timeoutMs: 0,
        force: false,
      });
      if (record.outcome === "succeeded") {
        pending.backoff.reset();
        logger.warn(
          { ...context, transition: record.id, rtoMs: record.rtoMs },
          "automatic failover done",
        );
        return;
      }
      pending.atMs = Date.now() + pending.backoff.next();
      logger.error(
        { ...context, transition: record.id, err: record.error },
        "automatic failover failed; the active region did not move",
      );
    } catch (error) {
      // Refused (a check failed, or another health service moved first): nothing changed.
      pending.atMs = Date.now() + pending.backoff.next();
      const err = GeoError.from(error);
      logger.warn(
        { ...context, code: err.codeName, err: err.message, retryAtMs: pending.atMs },
        "automatic failover refused",
      );
    }
  }

  // One look at a time: an attempt still running must not be started again beside it.
  let looking: Promise<void> | undefined;
  const check = (): Promise<void> => {
    looking ??= lookAtGroups().finally(() => {
      looking = undefined;
    });
    return looking;
  };

  async function lookAtGroups(): Promise<void> {
    for (const config of enabled) {
      await attempt(config).catch((error: Error) =>
        logger.warn(
          { flowGroup: config.name, err: error.message },
          "automatic failover check failed",
        ),
      );
    }
  }

  const abort = new AbortController();
  const loop =
    enabled.length === 0
      ? Promise.resolve()
      : runLoop(check, { intervalMs: options.intervalMs, signal: abort.signal });
  if (enabled.length > 0) {
    logger.info(
      { flowGroups: enabled.map((c) => `${c.name} after ${c.autoFailover.unreachableForMs} ms`) },
      "automatic failover enabled",
    );
  }
  return {
    check,
    async stop() {
      abort.abort();
      await loop;
    },
  };
}
