// The region-state part of geo.health.v1: GetRegionState, ListRegionStates, WatchRegionState,
// Switchover, Failover and Failback. The health service spreads `handlers` into its
// addService call and awaits `close()` when it stops.
import type { Duration } from "@bufbuild/protobuf/wkt";
import type { GeoConfig } from "@geo/config";
import {
  Code,
  GeoError,
  type HandlerContext,
  invalidArgument,
  requireEpoch,
  requireNonEmpty,
  resolveActor,
  type ServiceImpl,
} from "@geo/grpc";
import type { Logger } from "@geo/logging";
import { type Epoch, MAX_SCRIPT_EPOCH, NO_EPOCH } from "@geo/positions";
import type { healthV1, ReplicationHealthService } from "@geo/proto";
import type { Redis } from "@geo/redis";
import {
  createKafkaRegionLog,
  createRegionStore,
  type RegionLog,
  type RegionState,
  type RegionStore,
  regionGroupsFromConfig,
  type TransitionKind,
} from "@geo/region-state";
import { startAutoFailover } from "./auto-failover";
import type { ClusterProbes, LastKnownLagSource, TransitionDependencies } from "./dependencies";
import { createGrpcDependencies } from "./grpc-dependencies";
import {
  type ProtectionKeeper,
  type ProtectionKeeperOptions,
  startProtectionKeeper,
} from "./protection-keeper";
import { recordShape, stateShape, stepShape } from "./proto-shapes";
import { createTransitionRunner, type TransitionResult } from "./transition-runner";

type RegionHandlers = Pick<
  ServiceImpl<typeof ReplicationHealthService>,
  | "getRegionState"
  | "listRegionStates"
  | "watchRegionState"
  | "switchover"
  | "failover"
  | "failback"
>;

export interface RegionService {
  readonly handlers: RegionHandlers;
  readonly store: RegionStore;
  /** Keeps passive protection between transitions (protection-keeper.ts). */
  readonly protection: ProtectionKeeper;
  close(): Promise<void>;
}

export interface RegionServiceOptions {
  readonly config: GeoConfig;
  readonly logger: Logger;
  readonly redis: Redis;
  /** Default: the coordinator, offsets and health services over gRPC, and Kafka admin probes. */
  readonly dependencies?: TransitionDependencies & { close?(): Promise<void> };
  /** Default: the region topic in both clusters of each group. */
  readonly log?: RegionLog;
  /** Cluster reachability (the health monitor's probes); default: probed by the dependencies. */
  readonly probes?: ClusterProbes;
  /** The health monitor's last successful lag per partition (records at risk of a failover). */
  readonly lastKnownLag?: LastKnownLagSource;
  /** Told of the protection keeper's changes and failed passes (its metrics). */
  readonly protectionEvents?: Pick<ProtectionKeeperOptions, "onChange" | "onPassFailed">;
  /** Interval of lag and consumer polls during transitions. Default 500 ms. */
  readonly pollIntervalMs?: number;
}

const MAX_HISTORY = 100;
const MAX_TEXT = 1000;
const MAX_GROUPS = 1000;
/** States a watcher may fall behind before its stream ends (it reconnects and starts over). */
const MAX_WATCH_BACKLOG = 1000;

export function createRegionService(options: RegionServiceOptions): RegionService {
  const { config, logger } = options;
  const log = options.log ?? createKafkaRegionLog(config, logger);
  const groups = regionGroupsFromConfig(config);
  const store = createRegionStore({
    redis: options.redis,
    keyPrefix: config.redis.keyPrefix,
    groups,
    log,
    logger: logger.child({ component: "region-state" }),
  });
  store.start();
  const deps =
    options.dependencies ??
    createGrpcDependencies({
      config,
      logger,
      ...(options.probes === undefined ? {} : { probes: options.probes }),
      ...(options.lastKnownLag === undefined ? {} : { lastKnownLag: options.lastKnownLag }),
    });
  const runner = createTransitionRunner({
    store,
    deps,
    groupConfigs: config.flowGroups,
    logger: logger.child({ component: "transitions" }),
    lagIntervalMs: config.monitoring.probeIntervalMs,
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
  });
  const autoFailover = startAutoFailover({
    groups: store.groups,
    groupConfigs: config.flowGroups,
    state: (group) => store.get(group),
    run: (request) => runner.run(request),
    probes: deps.probes,
    logger: logger.child({ component: "auto-failover" }),
    intervalMs: config.monitoring.probeIntervalMs,
  });
  const protection = startProtectionKeeper({
    store,
    groupConfigs: config.flowGroups,
    deps,
    logger: logger.child({ component: "passive-protection" }),
    ...options.protectionEvents,
  });
  const shape = (state: RegionState) => stateShape(state, store.groups.get(state.flowGroup));
  const answer = (result: TransitionResult) => ({
    state: shape(result.state),
    steps: result.record.steps.map(stepShape),
    transition: recordShape(result.record),
  });

  const transition = async (
    kind: TransitionKind,
    request: TransitionFields,
    timeout: Duration | undefined,
    context: HandlerContext,
  ) =>
    answer(
      await runner.run({
        kind,
        flowGroup: requireNonEmpty(request.flowGroup, "flow_group"),
        targetRegion: requireNonEmpty(request.targetRegion, "target_region"),
        expectedEpoch: request.dryRun ? NO_EPOCH : epochOf(request.expectedEpoch),
        consumerGroups: boundedList(request.consumerGroups, "consumer_groups"),
        dryRun: request.dryRun,
        actor: boundedText(resolveActor(request.actor, context), "actor"),
        reason: boundedText(request.reason, "reason"),
        timeoutMs: durationMs(timeout, kind === "failback" ? "catch_up_timeout" : "drain_timeout"),
        force: request.force ?? false,
        copyDiverged: request.copyDiverged ?? false,
      }),
    );

  const handlers: RegionHandlers = {
    async getRegionState(request) {
      requireNonEmpty(request.flowGroup, "flow_group");
      if (request.historyLimit < 0 || request.historyLimit > MAX_HISTORY) {
        throw invalidArgument(
          "history_limit",
          `must be between 0 and ${MAX_HISTORY}, got ${request.historyLimit}`,
        );
      }
      const state = await store.get(request.flowGroup);
      const history = await store.history(request.flowGroup, request.historyLimit);
      return { state: shape(state), transitions: history.map(recordShape) };
    },
    listRegionStates: async () => ({ states: (await store.list()).map(shape) }),
    watchRegionState: (request, context) => watchStates(store, request.flowGroups, context, shape),
    switchover: (request, context) =>
      transition("switchover", request, request.drainTimeout, context),
    failover: (request, context) => transition("failover", request, undefined, context),
    failback: (request, context) =>
      transition("failback", request, request.catchUpTimeout, context),
  };

  return {
    handlers,
    store,
    protection,
    async close() {
      await autoFailover.stop();
      await protection.stop();
      await store.close();
      await log.close();
      await deps.close?.();
    },
  };
}

/** What the Switchover, Failover and Failback requests share, and what only one of them carries. */
type TransitionFields = Pick<
  healthV1.SwitchoverRequest,
  "flowGroup" | "targetRegion" | "expectedEpoch" | "consumerGroups" | "dryRun" | "actor" | "reason"
> &
  Partial<Pick<healthV1.FailoverRequest, "force">> &
  Partial<Pick<healthV1.FailbackRequest, "copyDiverged">>;

async function* watchStates(
  store: RegionStore,
  flowGroups: readonly string[],
  context: HandlerContext,
  shape: (state: RegionState) => ReturnType<typeof stateShape>,
) {
  boundedList(flowGroups, "flow_groups");
  const queue: { state: RegionState; initial: boolean }[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = store.watch(flowGroups, (state, initial) => {
    queue.push({ state, initial });
    wake?.();
  });
  const aborted = new Promise<void>((resolve) =>
    context.signal.addEventListener("abort", () => resolve(), { once: true }),
  );
  try {
    while (!context.signal.aborted) {
      if (queue.length > MAX_WATCH_BACKLOG) {
        throw new GeoError(
          Code.RESOURCE_EXHAUSTED,
          "this watcher fell too far behind the region state changes; reconnect",
          {
            retriable: true,
          },
        );
      }
      const next = queue.shift();
      if (next !== undefined) {
        yield { state: shape(next.state), initial: next.initial };
        continue;
      }
      await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
      wake = undefined;
    }
  } finally {
    unsubscribe();
  }
}

function epochOf(value: string): Epoch {
  const epoch = requireEpoch(value === "" ? "0" : value, "expected_epoch");
  if (epoch > MAX_SCRIPT_EPOCH) throw invalidArgument("expected_epoch", "is larger than any epoch");
  return epoch;
}

function durationMs(duration: Duration | undefined, field: string): number {
  if (duration === undefined) return 0;
  const ms = Number(duration.seconds) * 1000 + Math.floor(duration.nanos / 1e6);
  if (ms < 0 || ms > 86_400_000) throw invalidArgument(field, "must be between 0 and 24 hours");
  return ms;
}

function boundedText(text: string, field: string): string {
  if (text.length > MAX_TEXT)
    throw invalidArgument(field, `is ${text.length} characters; at most ${MAX_TEXT}`);
  return text;
}

function boundedList(items: readonly string[], field: string): readonly string[] {
  if (items.length > MAX_GROUPS)
    throw invalidArgument(field, `lists ${items.length} names; at most ${MAX_GROUPS}`);
  return items;
}
