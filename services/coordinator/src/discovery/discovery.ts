// Topic discovery and topic sync. Every interval, each source cluster's topics are listed once
// (for all flows reading it) and each target cluster is brought in line: remote topics created
// with the source's partition count and configs, grown when the source grew, their configs kept
// in step; the project's internal topics created. A flow's units are its matched source
// partitions whose remote partition exists, so an agent given a unit can write at once.
//
// A cluster that fails keeps what was last known of it (a source keeps its flows' units), shows
// as a warning in the status of every flow using it, and is retried with exponential backoff.
// Nothing is ever deleted: a deleted source topic loses its units, its remote topic stays.
import type { FlowConfig, GeoConfig } from "@geo/config";
import type { ClusterAdmin } from "@geo/kafka";
import type { Logger } from "@geo/logging";
import type { Registry } from "@geo/metrics";
import { createClusterAttempts } from "./cluster-attempts";
import { registerDiscoveryMetrics } from "./discovery-metrics";
import { type FlowState, flowStatus, updateFlowStates } from "./flow-status";
import { createRoundScheduler } from "./round-scheduler";
import { listSources } from "./source-listing";
import { syncTargets } from "./target-sync";
import type { Discovery } from "./types";
import { createUnitPublisher } from "./unit-publisher";

export { MAX_TOPIC_NAME_LENGTH } from "./target-plan";

export interface DiscoveryOptions {
  readonly config: GeoConfig;
  readonly logger: Logger;
  /** An admin per cluster alias; the caller owns them (and closes them after stop()). */
  readonly clusterAdmins: ReadonlyMap<string, ClusterAdmin>;
  /** Default: `config.discovery.intervalMs`. */
  readonly intervalMs?: number;
  /** The flows to discover, read at every round. Default: the config file's flows. */
  readonly flows?: () => readonly FlowConfig[];
  /** Remote and internal topics get min(this, target broker count) replicas. Default 3. */
  readonly maxReplicationFactor?: number;
  /** Longest wait before retrying a failing cluster. Default 30 s. */
  readonly maxBackoffMs?: number;
  /** How long a removed topic stays mentioned in its flow's warnings. Default 10 min. */
  readonly removedTopicNoticeMs?: number;
  /** Registry to export gauges on (units and matched topics per flow, round duration). */
  readonly metrics?: Registry;
}

/**
 * The parts, in the order of a round: source listing (source-listing.ts), target sync
 * (target-sync.ts: remote-topic creation, partition and config sync), the flows' states and status
 * (flow-status.ts), the units handed on (unit-publisher.ts); cluster-attempts.ts backs off failing
 * clusters and round-scheduler.ts runs the rounds.
 */
export function createDiscovery(options: DiscoveryOptions): Discovery {
  const { config, clusterAdmins } = options;
  const logger = options.logger.child({ component: "discovery" });
  const intervalMs = options.intervalMs ?? config.discovery.intervalMs;
  const listFlows = options.flows ?? (() => config.flows);
  const flowStates = new Map<string, FlowState>();
  const lastTargetTopics = new Map<string, ReadonlyMap<string, number>>();
  const units = createUnitPublisher(logger);
  const scheduler = createRoundScheduler(intervalMs, () => round(), logger);
  const status = (name: string) => flowStatus(flowStates, name, listFlows);
  const metrics =
    options.metrics === undefined
      ? undefined
      : registerDiscoveryMetrics(options.metrics, {
          flows: () => listFlows().map((flow) => flow.name),
          status,
        });
  const context = {
    logger,
    isStopped: scheduler.isStopped,
    admin: (alias: string) => adminOf(clusterAdmins, alias),
    maxReplicationFactor: options.maxReplicationFactor ?? 3,
    attempts: createClusterAttempts({
      intervalMs,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      logger,
      isStopped: scheduler.isStopped,
      onFailure: (cluster, role) => metrics?.failures.inc({ cluster, role }),
    }),
  };
  const settings = { logger, removedTopicNoticeMs: options.removedTopicNoticeMs ?? 10 * 60_000 };

  async function round(): Promise<void> {
    const started = performance.now();
    const flows = listFlows();
    const sources = await listSources(context, flows);
    const targets = await syncTargets(context, flows, sources);
    for (const [alias, target] of targets) lastTargetTopics.set(alias, target.topics);
    if (scheduler.isStopped()) return;
    const { attempts } = context;
    updateFlowStates(flowStates, flows, { sources, targets, lastTargetTopics, attempts }, settings);
    units.publish([...flowStates.values()].flatMap((state) => state.units));
    metrics?.roundSeconds.observe((performance.now() - started) / 1000);
  }

  return {
    start: () =>
      scheduler.start(() =>
        logger.info(
          { intervalMs, flows: listFlows().length },
          `topic discovery every ${intervalMs} ms`,
        ),
      ),
    stop: scheduler.stop,
    refresh: scheduler.refresh,
    units: units.current,
    flowStatus: status,
    onChange: units.onChange,
  };
}

function adminOf(clusterAdmins: ReadonlyMap<string, ClusterAdmin>, alias: string): ClusterAdmin {
  const found = clusterAdmins.get(alias);
  if (found === undefined) throw new Error(`no admin client for cluster "${alias}"`);
  return found;
}
