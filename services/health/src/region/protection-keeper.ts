// The protection keeper (flowGroups[].passiveProtection.reconcileIntervalMs, every 10 s by
// default, and once at start): between transitions it keeps each group's ACLs as passive
// protection (passive-acls.ts) wants them: the passive cluster's replicated topics denied to
// applications, the active cluster's free of our denial. That covers what transitions alone do
// not: a group's first passive region (before any transition), remote topics created on the
// passive side after a move, and a transition that failed after touching the ACLs. A cluster
// failing its probes is skipped (a lost region must not hold the pass for the admin timeout),
// one without an authorizer too (said once). Errors are logged and the pass retried with backoff.
//
// Never racing a transition: the flip of the active region happens only in `store.finish`,
// AFTER the transition's ACL steps (movePassiveProtection), and those hold the group's
// protection lock (protection-lock.ts in @geo/region-state), taken waiting. A keeper pass takes
// the same lock without waiting (held: it skips the group this time), THEN reads the state and
// skips when a transition runs. So a pass that began before a transition's lock either
// finishes before that transition's ACL step starts (which waits for the lock), and the flip
// is later still, so the pass's view of the active region was right for all it changed; or it
// read the state after the transition began, saw it and skipped. A pass after the ACL steps
// but before the flip sees the transition too. Two health services' keepers take turns at the
// lock. A pass starts an admin call only with that call's bound (KEEPER_GUARD_TIMEOUT_MS, after
// which the connection is dropped) and a margin left on its lock, so it never acts after the
// lock expired and a transition took it. That bound is shorter than a transition's own
// (WRITE_GUARD_TIMEOUT_MS): a transition's ACL step waits for the pass holding the lock, and a
// failover whose active cluster died during a pass waits for the call to that cluster to time
// out. A call takes a few requests whatever the topic count (passive-acls.ts), so 5 s is ample.
import { runLoop } from "@geo/backoff";
import type { FlowGroupConfig } from "@geo/config";
import type { Logger } from "@geo/logging";
import type { ProtectionLock, RegionEndpoint, RegionState, RegionStore } from "@geo/region-state";
import type { FlowInfo, TransitionDependencies } from "./dependencies";
import { remoteTopicSelector } from "./passive-acls";

/** Lock time a pass keeps spare beyond an admin call's bound before it starts one. */
const LOCK_MARGIN_MS = 5000;

/** The bound of a pass's write-guard call on one cluster (a transition may wait that long). */
export const KEEPER_GUARD_TIMEOUT_MS = 5000;

/** A change a pass made to one cluster's ACLs. */
export interface ProtectionChange {
  readonly flowGroup: string;
  readonly cluster: string;
  readonly change: "denied" | "lifted";
  readonly topics: readonly string[];
}

/** What a pass did with one cluster of the group. */
export type ClusterPass =
  | { readonly cluster: string; readonly active: boolean; readonly skipped: string }
  | {
      readonly cluster: string;
      readonly active: boolean;
      /** Replicated topics now denied (passive) or just lifted (active). */
      readonly topics: readonly string[];
      readonly changed: readonly string[];
    };

export type PassOutcome =
  | { readonly kept: false; readonly why: string }
  | { readonly kept: true; readonly clusters: readonly ClusterPass[] };

export interface ProtectionKeeperOptions {
  readonly store: Pick<RegionStore, "groups" | "get" | "whenReady" | "withProtectionLock">;
  readonly groupConfigs: readonly FlowGroupConfig[];
  readonly deps: Pick<TransitionDependencies, "flows" | "writeGuard" | "probes">;
  readonly logger: Logger;
  /** The bound of one write-guard call. Default KEEPER_GUARD_TIMEOUT_MS. */
  readonly guardTimeoutMs?: number;
  readonly onChange?: (change: ProtectionChange) => void;
  readonly onPassFailed?: (flowGroup: string) => void;
}

export interface ProtectionKeeper {
  /** One pass over a group (the loop calls it every interval); throws when a cluster failed. */
  pass(flowGroup: string): Promise<PassOutcome>;
  /** Replicated topics each passive cluster had denied at its last pass, per group. */
  protectedTopics(): readonly { flowGroup: string; cluster: string; topics: number }[];
  stop(): Promise<void>;
}

const AT_REST = new Set(["stable", "failed-over"]);

export function startProtectionKeeper(options: ProtectionKeeperOptions): ProtectionKeeper {
  const { store, logger } = options;
  const configs = new Map(options.groupConfigs.map((c) => [c.name, c]));
  const counts = new Map<string, { flowGroup: string; cluster: string; topics: number }>();
  const saidNoAuthorizer = new Set<string>();
  const keep = (config: FlowGroupConfig, state: RegionState, lock: ProtectionLock) =>
    keepGroup(options, { config, state, lock, counts, saidNoAuthorizer });

  async function pass(flowGroup: string): Promise<PassOutcome> {
    const config = configs.get(flowGroup)!;
    const result = await store.withProtectionLock(flowGroup, async (lock) => {
      const state = await store.get(flowGroup);
      if (state.transition !== undefined) {
        const { kind, id } = state.transition;
        return { kept: false as const, why: `${kind} ${id} is running` };
      }
      if (!AT_REST.has(state.phase))
        return { kept: false as const, why: `the group is ${state.phase}` };
      return { kept: true as const, clusters: await keep(config, state, lock) };
    });
    if (!result.locked) return { kept: false, why: "the protection lock is held" };
    if (!result.value.kept) logger.debug({ flowGroup, why: result.value.why }, "pass skipped");
    return result.value;
  }

  const abort = new AbortController();
  const loops = startLoops(options, pass, abort.signal);
  return {
    pass,
    protectedTopics: () => [...counts.values()],
    async stop() {
      abort.abort();
      await Promise.all(loops);
    },
  };
}

/** A loop per group with an interval: a pass at once (once the store is ready), then every interval. */
function startLoops(
  options: ProtectionKeeperOptions,
  pass: (flowGroup: string) => Promise<PassOutcome>,
  signal: AbortSignal,
): Promise<void>[] {
  const { store, logger } = options;
  const enabled = options.groupConfigs.filter((c) => c.passiveProtection.reconcileIntervalMs > 0);
  const stopped = new Promise<void>((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true }),
  );
  const loopOver = async (config: FlowGroupConfig): Promise<void> => {
    const intervalMs = config.passiveProtection.reconcileIntervalMs;
    // Until every group's state is restored there is no active region to go by.
    await Promise.race([store.whenReady(), stopped]);
    await runLoop(async () => void (await pass(config.name)), {
      intervalMs,
      signal,
      initialMs: intervalMs,
      maxMs: Math.max(intervalMs, 60_000),
      onError: (error, delayMs, failures) => {
        options.onPassFailed?.(config.name);
        logger.warn(
          { flowGroup: config.name, err: (error as Error).message, retryInMs: delayMs, failures },
          "passive protection pass failed; retrying",
        );
      },
    });
  };
  if (enabled.length > 0) {
    const every = enabled.map(
      (c) => `${c.name} every ${c.passiveProtection.reconcileIntervalMs} ms`,
    );
    logger.info({ flowGroups: every }, "passive protection kept between transitions");
  }
  return enabled.map(loopOver);
}

interface GroupPass {
  readonly config: FlowGroupConfig;
  readonly state: RegionState;
  readonly lock: ProtectionLock;
  readonly counts: Map<string, { flowGroup: string; cluster: string; topics: number }>;
  readonly saidNoAuthorizer: Set<string>;
}

/** Lifts the active cluster's denial, then denies the passive ones'; throws what failed. */
async function keepGroup(
  options: ProtectionKeeperOptions,
  pass: GroupPass,
): Promise<ClusterPass[]> {
  const group = options.store.groups.get(pass.config.name)!;
  const clusters = group.regions.map((r) => r.cluster);
  const inGroup = (flow: FlowInfo) =>
    (pass.config.flows.length === 0 || pass.config.flows.includes(flow.name)) &&
    clusters.includes(flow.source) &&
    flow.source !== flow.target;
  const flows = (await options.deps.flows.list()).filter(inGroup);
  // The active side first: its applications being refused is the worse state to leave.
  const regions = [...group.regions].sort(
    (a, b) =>
      Number(b.region === pass.state.activeRegion) - Number(a.region === pass.state.activeRegion),
  );
  const done: ClusterPass[] = [];
  const failed: string[] = [];
  for (const region of regions) {
    try {
      done.push(await keepCluster(options, pass, region, flows));
    } catch (error) {
      failed.push(`${region.cluster}: ${(error as Error).message}`);
    }
  }
  if (failed.length > 0) throw new Error(failed.join("; "));
  return done;
}

async function keepCluster(
  options: ProtectionKeeperOptions,
  pass: GroupPass,
  region: RegionEndpoint,
  flows: readonly FlowInfo[],
): Promise<ClusterPass> {
  const { cluster } = region;
  const flowGroup = pass.config.name;
  const active = region.region === pass.state.activeRegion;
  const key = `${flowGroup}/${cluster}`;
  if (active) pass.counts.delete(key);
  const failures = options.deps.probes.consecutiveFailures(cluster);
  if (failures > 0) return { cluster, active, skipped: `failed its last ${failures} probes` };
  const into = flows.filter((flow) => flow.target === cluster);
  if (into.length === 0) return { cluster, active, skipped: "no flow of the group writes there" };
  const boundMs = options.guardTimeoutMs ?? KEEPER_GUARD_TIMEOUT_MS;
  if (pass.lock.remainingMs() < boundMs + LOCK_MARGIN_MS) {
    throw new Error(
      `the protection lock has ${Math.round(pass.lock.remainingMs())} ms left; not started`,
    );
  }
  const select = remoteTopicSelector(into, cluster);
  const guard = options.deps.writeGuard;
  const outcome = active
    ? await guard.allow(cluster, select, boundMs)
    : await guard.deny(cluster, select, boundMs);
  if (!outcome.authorizer) {
    if (!pass.saidNoAuthorizer.has(cluster)) {
      pass.saidNoAuthorizer.add(cluster);
      options.logger.info(
        { flowGroup, cluster },
        "cluster has no authorizer: its passive side's writes are detected, not prevented",
      );
    }
    return { cluster, active, skipped: "no authorizer" };
  }
  pass.saidNoAuthorizer.delete(cluster);
  if (!active) pass.counts.set(key, { flowGroup, cluster, topics: outcome.topics.length });
  if (outcome.changed.length > 0) {
    const change = active ? ("lifted" as const) : ("denied" as const);
    options.onChange?.({ flowGroup, cluster, change, topics: outcome.changed });
    options.logger.info(
      { flowGroup, cluster, change, topics: outcome.changed },
      active
        ? "lifted a leftover write denial on the active side"
        : "denied application writes to the passive side's replicated topics",
    );
  }
  return { cluster, active, topics: outcome.topics, changed: outcome.changed };
}
