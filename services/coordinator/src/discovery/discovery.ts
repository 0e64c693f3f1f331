// Topic discovery and topic sync. Every interval, each source cluster's topics are listed once
// (for all flows reading it) and each target cluster is brought in line: remote topics created
// with the source's partition count and configs, grown when the source grew, their configs kept
// in step; the project's internal topics created. A flow's units are its matched source
// partitions whose remote partition exists, so an agent given a unit can write at once.
//
// A cluster that fails keeps what was last known of it (a source keeps its flows' units), shows
// as a warning in the status of every flow using it, and is retried with exponential backoff.
// Nothing is ever deleted: a deleted source topic loses its units, its remote topic stays.
import { type Backoff, createBackoff } from "@geo/backoff";
import { createTopicFilter, type FlowConfig, type GeoConfig, remoteTopicName } from "@geo/config";
import type { Admin, ClusterAdmin } from "@geo/kafka";
import type { Logger } from "@geo/logging";
import type { Registry } from "@geo/metrics";
import { registerDiscoveryMetrics } from "./discovery-metrics";
import { INTERNAL_TOPICS, internalTopicConfigs } from "./internal-topics";
import {
  brokerCount,
  createTopics,
  describeTopicConfigs,
  errorMessage,
  growTopic,
  listTopicPartitions,
  setTopicConfigs,
  type TopicToCreate,
} from "./topic-admin";
import {
  describeConfigs,
  remoteConfigUpdate,
  replicatedConfigs,
  type TopicConfigs,
} from "./topic-configs";
import { compareUnits, type DesiredUnit, type Discovery, type FlowDiscoveryStatus } from "./types";

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

interface ClusterTrack {
  failures: number;
  backoff: Backoff;
  retryAt: number;
  error?: string;
  since?: Date;
}

interface SourceRound {
  readonly at: Date;
  readonly topics: ReadonlyMap<string, number>;
  readonly configs: ReadonlyMap<string, TopicConfigs>;
  readonly configErrors: ReadonlyMap<string, string>;
}

interface TargetRound {
  /** Partition counts of the target's topics after this round's changes. */
  readonly topics: ReadonlyMap<string, number>;
  readonly problemsByFlow: ReadonlyMap<string, string[]>;
  /** Problems of the target itself (internal topics), shown on every flow into it. */
  readonly targetProblems: readonly string[];
}

interface RemovedTopic {
  readonly at: Date;
  readonly deleted: boolean;
  readonly units: number;
  readonly remoteTopic: string;
}

interface FlowState {
  matched: string[];
  units: DesiredUnit[];
  discoveryTime?: Date;
  syncProblems: string[];
  removed: Map<string, RemovedTopic>;
  warnings: string[];
}

const LIST_TIMEOUT_MS = 5000;

export function createDiscovery(options: DiscoveryOptions): Discovery {
  const { config, clusterAdmins } = options;
  const logger = options.logger.child({ component: "discovery" });
  const intervalMs = options.intervalMs ?? config.discovery.intervalMs;
  const listFlows = options.flows ?? (() => config.flows);
  const maxReplicationFactor = options.maxReplicationFactor ?? 3;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const removedTopicNoticeMs = options.removedTopicNoticeMs ?? 10 * 60_000;

  const tracks = new Map<string, ClusterTrack>();
  const lastTargetTopics = new Map<string, ReadonlyMap<string, number>>();
  const flowStates = new Map<string, FlowState>();
  const listeners = new Set<(units: readonly DesiredUnit[]) => void>();
  let allUnits: readonly DesiredUnit[] = [];
  let started = false;
  /** Set by stop(): rounds skip what is left, so a shutdown is not held up by slow clusters. */
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const metrics =
    options.metrics === undefined
      ? undefined
      : registerDiscoveryMetrics(options.metrics, {
          flows: () => listFlows().map((flow) => flow.name),
          status: (flow) => flowStatus(flow),
        });

  const admin = (alias: string): ClusterAdmin => {
    const found = clusterAdmins.get(alias);
    if (found === undefined) throw new Error(`no admin client for cluster "${alias}"`);
    return found;
  };

  /**
   * Runs `action` for a cluster unless it is backing off after failures. Failures are logged
   * once (and again when the reason changes), recoveries too.
   */
  async function attempt<T>(
    role: "source" | "target",
    alias: string,
    action: () => Promise<T>,
  ): Promise<T | undefined> {
    const key = `${role}:${alias}`;
    let track = tracks.get(key);
    if (track === undefined) {
      track = {
        failures: 0,
        backoff: createBackoff({
          initialMs: intervalMs,
          maxMs: Math.max(intervalMs, maxBackoffMs),
        }),
        retryAt: 0,
      };
      tracks.set(key, track);
    }
    if (stopped || Date.now() < track.retryAt) return undefined;
    try {
      const result = await action();
      if (track.failures > 0) {
        logger.info(
          { cluster: alias, role, failures: track.failures },
          `${role} cluster ${alias} answers again`,
        );
      }
      track.failures = 0;
      track.backoff.reset();
      track.retryAt = 0;
      track.error = undefined;
      track.since = undefined;
      return result;
    } catch (error) {
      const message = errorMessage(error);
      track.failures += 1;
      track.since ??= new Date();
      const backoff = Math.round(track.backoff.next());
      track.retryAt = Date.now() + backoff;
      if (!stopped && message !== track.error) {
        logger.warn(
          { cluster: alias, role, err: message, retryInMs: backoff },
          `discovery could not reach ${role} cluster ${alias}; keeping what was last known`,
        );
      }
      track.error = message;
      metrics?.failures.inc({ cluster: alias, role });
      return undefined;
    }
  }

  /** Lists a source cluster's topics and reads the configs of those its flows match. */
  async function discoverSource(
    alias: string,
    flows: readonly FlowConfig[],
  ): Promise<SourceRound | undefined> {
    return attempt("source", alias, async () => {
      const cluster = admin(alias);
      const topics = await cluster.use(listTopicPartitions, LIST_TIMEOUT_MS);
      const at = new Date();
      const matched = new Set<string>();
      for (const flow of flows) {
        const filter = createTopicFilter(flow);
        for (const topic of topics.keys()) if (filter(topic)) matched.add(topic);
      }
      let configs: ReadonlyMap<string, TopicConfigs> = new Map();
      let configErrors: ReadonlyMap<string, string> = new Map();
      if (matched.size > 0 && !stopped) {
        try {
          const described = await cluster.use(
            (client) => describeTopicConfigs(client, [...matched]),
            LIST_TIMEOUT_MS + 20 * matched.size,
          );
          configs = described.values;
          configErrors = described.errors;
        } catch (error) {
          const message = errorMessage(error);
          configErrors = new Map([...matched].map((topic) => [topic, message]));
        }
      }
      return { at, topics, configs, configErrors };
    });
  }

  /** Brings one target cluster in line with the fresh listings of its flows' sources. */
  async function syncTarget(
    alias: string,
    flows: readonly FlowConfig[],
    sources: ReadonlyMap<string, SourceRound>,
  ): Promise<TargetRound | undefined> {
    return attempt("target", alias, async () => {
      const cluster = admin(alias);
      const { brokers, listed } = await cluster.use(
        async (client) => ({
          brokers: await brokerCount(client),
          listed: await listTopicPartitions(client),
        }),
        LIST_TIMEOUT_MS,
      );
      const topics = new Map(listed);
      const replicationFactor = Math.max(1, Math.min(maxReplicationFactor, brokers));
      const problemsByFlow = new Map<string, string[]>();
      const problem = (flow: string, text: string) => {
        const list = problemsByFlow.get(flow) ?? [];
        list.push(text);
        problemsByFlow.set(flow, list);
      };

      // The project's internal topics.
      const targetProblems: string[] = [];
      const missingInternal = INTERNAL_TOPICS.filter((spec) => !topics.has(spec.topic));
      if (missingInternal.length > 0 && !stopped) {
        const outcome = await cluster.use(
          (client) =>
            createTopics(
              client,
              missingInternal.map((spec) => ({
                topic: spec.topic,
                partitions: spec.partitions,
                replicationFactor,
                configs: internalTopicConfigs(spec, replicationFactor),
              })),
            ),
          10_000,
        );
        for (const spec of missingInternal) {
          const error = outcome.errors.get(spec.topic);
          if (error === undefined) {
            topics.set(spec.topic, spec.partitions);
            logger.info(
              { cluster: alias, topic: spec.topic, replicationFactor },
              `created internal topic ${spec.topic} on ${alias}`,
            );
          } else {
            targetProblems.push(
              `could not create internal topic ${spec.topic} on ${alias}: ${error}`,
            );
          }
        }
      }

      // What every flow into this target wants there.
      interface Plan {
        flow: FlowConfig;
        sourceTopic: string;
        remoteTopic: string;
        partitions: number;
        /** The source topic's topic-level configs; undefined when they could not be read. */
        configs: TopicConfigs | undefined;
        /** What of them the remote topic gets. */
        replicated: TopicConfigs;
        configError: string | undefined;
      }
      const plans: Plan[] = [];
      const claimedBy = new Map<string, string>();
      for (const flow of flows) {
        const source = sources.get(flow.source);
        if (source === undefined) continue;
        const filter = createTopicFilter(flow);
        for (const sourceTopic of [...source.topics.keys()].filter(filter).sort()) {
          const remoteTopic = remoteTopicName(flow, flow.source, sourceTopic);
          if (remoteTopic.length > MAX_TOPIC_NAME_LENGTH) {
            // The broker would only answer "invalid topic"; say what is wrong and what to do.
            problem(flow.name, overlongRemoteName(flow, sourceTopic, remoteTopic));
            continue;
          }
          const owner = claimedBy.get(remoteTopic);
          if (owner !== undefined) {
            problem(
              flow.name,
              `remote topic ${remoteTopic} on ${alias} is already written by flow ${owner}; ${flow.source}:${sourceTopic} is not replicated`,
            );
            continue;
          }
          claimedBy.set(remoteTopic, flow.name);
          const configs = source.configs.get(sourceTopic);
          plans.push({
            flow,
            sourceTopic,
            remoteTopic,
            partitions: source.topics.get(sourceTopic) ?? 0,
            configs,
            replicated: replicatedConfigs(configs ?? new Map()),
            configError: source.configErrors.get(sourceTopic),
          });
        }
      }

      // Configs of the remote topics that exist, to compare with their sources'.
      const existing = plans.filter((plan) => topics.has(plan.remoteTopic));
      const remoteConfigs =
        existing.length === 0 || stopped
          ? { values: new Map<string, TopicConfigs>(), errors: new Map<string, string>() }
          : await cluster.use(
              (client) =>
                describeTopicConfigs(
                  client,
                  existing.map((plan) => plan.remoteTopic),
                ),
              LIST_TIMEOUT_MS + 20 * existing.length,
            );

      const toCreate: Plan[] = [];
      const changes: { plan: Plan; run: (client: Admin) => Promise<void>; done: () => void }[] = [];
      for (const plan of plans) {
        const { flow, remoteTopic, sourceTopic, partitions } = plan;
        const remotePartitions = topics.get(remoteTopic);
        if (remotePartitions === undefined) {
          if (plan.configs === undefined) {
            problem(
              flow.name,
              `remote topic ${remoteTopic} not created on ${alias} yet: could not read the configs of ${sourceTopic} on ${flow.source}: ${plan.configError ?? "unknown error"}`,
            );
          } else {
            toCreate.push(plan);
          }
          continue;
        }
        if (remotePartitions < partitions) {
          changes.push({
            plan,
            run: (client) => growTopic(client, remoteTopic, partitions),
            done: () => {
              topics.set(remoteTopic, partitions);
              logger.info(
                {
                  flow: flow.name,
                  cluster: alias,
                  topic: remoteTopic,
                  from: remotePartitions,
                  to: partitions,
                },
                `grew remote topic ${remoteTopic} on ${alias} from ${remotePartitions} to ${partitions} partitions`,
              );
            },
          });
        } else if (remotePartitions > partitions) {
          problem(
            flow.name,
            `remote topic ${remoteTopic} on ${alias} has ${remotePartitions} partitions, more than the ${partitions} of ${sourceTopic} on ${flow.source}; the extra partitions receive nothing`,
          );
        }
        const current = remoteConfigs.values.get(remoteTopic);
        if (plan.configs === undefined || current === undefined) {
          const why = plan.configError ?? remoteConfigs.errors.get(remoteTopic);
          problem(
            flow.name,
            `configs of ${remoteTopic} on ${alias} not synced this round: ${why ?? "unknown error"}`,
          );
          continue;
        }
        const update = remoteConfigUpdate(plan.configs, current);
        if (update !== undefined) {
          changes.push({
            plan,
            run: (client) => setTopicConfigs(client, remoteTopic, update),
            done: () =>
              logger.info(
                { flow: flow.name, cluster: alias, topic: remoteTopic },
                `synced configs of remote topic ${remoteTopic} on ${alias}: ${describeConfigs(update)} (was ${describeConfigs(current)})`,
              ),
          });
        }
      }

      if (toCreate.length > 0 && !stopped) {
        const requests: TopicToCreate[] = toCreate.map((plan) => ({
          topic: plan.remoteTopic,
          partitions: plan.partitions,
          replicationFactor,
          configs: plan.replicated,
        }));
        const outcome = await cluster.use(
          (client) => createTopics(client, requests),
          10_000 + 200 * requests.length,
        );
        for (const plan of toCreate) {
          const result = outcome.values.get(plan.remoteTopic);
          if (result === undefined) {
            problem(
              plan.flow.name,
              `could not create remote topic ${plan.remoteTopic} on ${alias}: ${outcome.errors.get(plan.remoteTopic) ?? "unknown error"}`,
            );
            continue;
          }
          // A topic someone else created meanwhile is counted at the next listing.
          if (result.created) topics.set(plan.remoteTopic, plan.partitions);
          if (result.configsRefused !== undefined) {
            problem(
              plan.flow.name,
              `remote topic ${plan.remoteTopic} was created on ${alias} without the configs of its source (${describeConfigs(plan.replicated)}): ${result.configsRefused}`,
            );
          }
          if (result.created) {
            logger.info(
              {
                flow: plan.flow.name,
                cluster: alias,
                topic: plan.remoteTopic,
                partitions: plan.partitions,
                replicationFactor,
              },
              `created remote topic ${plan.remoteTopic} on ${alias} with ${plan.partitions} partitions, configs: ${describeConfigs(plan.replicated)}`,
            );
          }
        }
      }

      if (changes.length > 0 && !stopped) {
        await cluster.use(
          async (client) => {
            for (const change of changes) {
              try {
                await change.run(client);
                change.done();
              } catch (error) {
                problem(
                  change.plan.flow.name,
                  `could not update remote topic ${change.plan.remoteTopic} on ${alias}: ${errorMessage(error)}`,
                );
              }
            }
          },
          10_000 + 1000 * changes.length,
        );
      }

      return { topics, problemsByFlow, targetProblems };
    });
  }

  function updateFlows(
    flows: readonly FlowConfig[],
    sources: ReadonlyMap<string, SourceRound>,
    targets: ReadonlyMap<string, TargetRound>,
  ): void {
    const now = Date.now();
    const names = new Set(flows.map((flow) => flow.name));
    for (const name of flowStates.keys()) if (!names.has(name)) flowStates.delete(name);

    for (const flow of flows) {
      let state = flowStates.get(flow.name);
      if (state === undefined) {
        state = { matched: [], units: [], syncProblems: [], removed: new Map(), warnings: [] };
        flowStates.set(flow.name, state);
      }
      // Unreachable clusters first; attempt() logs those, the others are logged when new.
      const clusterWarnings: string[] = [];
      const warnings: string[] = [];
      const source = sources.get(flow.source);
      const target = targets.get(flow.target);

      if (source === undefined) {
        const track = tracks.get(`source:${flow.source}`);
        if (track?.error !== undefined) {
          clusterWarnings.push(
            `could not list topics on ${flow.source} since ${track.since?.toISOString()} (${track.failures} failed attempts, retrying): ${track.error}; keeping the ${state.units.length} units last discovered${state.discoveryTime === undefined ? "" : ` at ${state.discoveryTime.toISOString()}`}`,
          );
        }
      } else {
        const filter = createTopicFilter(flow);
        const matched = [...source.topics.keys()].filter(filter).sort();
        const remotePartitions = target?.topics ?? lastTargetTopics.get(flow.target) ?? new Map();
        const units: DesiredUnit[] = [];
        for (const sourceTopic of matched) {
          const remoteTopic = remoteTopicName(flow, flow.source, sourceTopic);
          const count = Math.min(
            source.topics.get(sourceTopic) ?? 0,
            remotePartitions.get(remoteTopic) ?? 0,
          );
          for (let partition = 0; partition < count; partition++) {
            units.push({ flow: flow.name, sourceTopic, partition, remoteTopic });
          }
        }
        const matchedNow = new Set(matched);
        for (const topic of state.matched) {
          if (matchedNow.has(topic)) continue;
          const deleted = !source.topics.has(topic);
          const removedUnits = state.units.filter((unit) => unit.sourceTopic === topic).length;
          const remoteTopic = remoteTopicName(flow, flow.source, topic);
          state.removed.set(topic, { at: source.at, deleted, units: removedUnits, remoteTopic });
          logger.info(
            { flow: flow.name, cluster: flow.source, topic, units: removedUnits },
            `source topic ${topic} ${deleted ? `was deleted from ${flow.source}` : "no longer matches the filter"}; its ${removedUnits} units stop, remote topic ${remoteTopic} stays on ${flow.target}`,
          );
        }
        for (const topic of matched) state.removed.delete(topic);
        state.matched = matched;
        state.units = units;
        state.discoveryTime = source.at;
        if (target !== undefined) {
          state.syncProblems = [
            ...target.targetProblems,
            ...(target.problemsByFlow.get(flow.name) ?? []),
          ];
        }
      }

      if (target === undefined) {
        const track = tracks.get(`target:${flow.target}`);
        if (track?.error !== undefined) {
          clusterWarnings.push(
            `could not sync topics into ${flow.target} since ${track.since?.toISOString()} (${track.failures} failed attempts, retrying): ${track.error}; new source topics and partitions wait for their remote topics`,
          );
        }
      }
      if (state.discoveryTime !== undefined && state.matched.length === 0) {
        warnings.push(
          `topic filter matches no topic on ${flow.source} (include: ${flow.topics.include.join(", ") || "none"}; exclude: ${flow.topics.exclude.join(", ") || "none"})`,
        );
      }
      warnings.push(...state.syncProblems);
      for (const [topic, removed] of state.removed) {
        if (now - removed.at.getTime() > removedTopicNoticeMs) {
          state.removed.delete(topic);
          continue;
        }
        warnings.push(
          `source topic ${topic} ${removed.deleted ? `was deleted from ${flow.source}` : `no longer matches the filter`} at ${removed.at.toISOString()}: its ${removed.units} units stopped; remote topic ${removed.remoteTopic} is kept on ${flow.target}`,
        );
      }
      const previous = new Set(state.warnings);
      for (const warning of warnings) {
        if (!previous.has(warning))
          logger.warn({ flow: flow.name }, `flow ${flow.name}: ${warning}`);
      }
      state.warnings = [...clusterWarnings, ...warnings];
    }

    const units = [...flowStates.values()].flatMap((state) => state.units).sort(compareUnits);
    if (!sameUnits(units, allUnits)) {
      logger.info(
        { units: units.length, before: allUnits.length },
        `desired units changed: ${allUnits.length} -> ${units.length}`,
      );
      allUnits = units;
      for (const listener of listeners) {
        try {
          listener(units);
        } catch (error) {
          logger.error({ err: errorMessage(error) }, "a discovery listener failed");
        }
      }
    }
  }

  async function round(): Promise<void> {
    const started = performance.now();
    const flows = listFlows();
    const sourceAliases = [...new Set(flows.map((flow) => flow.source))];
    const targetAliases = [...new Set(flows.map((flow) => flow.target))];
    const sources = new Map<string, SourceRound>();
    await Promise.all(
      sourceAliases.map(async (alias) => {
        const found = await discoverSource(
          alias,
          flows.filter((flow) => flow.source === alias),
        );
        if (found !== undefined) sources.set(alias, found);
      }),
    );
    const targets = new Map<string, TargetRound>();
    await Promise.all(
      targetAliases.map(async (alias) => {
        const synced = await syncTarget(
          alias,
          flows.filter((flow) => flow.target === alias),
          sources,
        );
        if (synced !== undefined) {
          targets.set(alias, synced);
          lastTargetTopics.set(alias, synced.topics);
        }
      }),
    );
    if (stopped) return;
    updateFlows(flows, sources, targets);
    metrics?.roundSeconds.observe((performance.now() - started) / 1000);
  }

  function runRound(): Promise<void> {
    running ??= round()
      .catch((error) => logger.error({ err: errorMessage(error) }, "discovery round failed"))
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      void runRound().then(schedule);
    }, intervalMs);
  }

  function flowStatus(name: string): FlowDiscoveryStatus | undefined {
    const state = flowStates.get(name);
    if (state === undefined) {
      return listFlows().some((flow) => flow.name === name)
        ? { matchedTopicCount: 0, unitCount: 0, warnings: [], discoveryTime: undefined }
        : undefined;
    }
    return {
      matchedTopicCount: state.matched.length,
      unitCount: state.units.length,
      warnings: [...state.warnings],
      discoveryTime: state.discoveryTime,
    };
  }

  return {
    start: () => {
      if (started || stopped) return;
      started = true;
      logger.info(
        { intervalMs, flows: listFlows().length },
        `topic discovery every ${intervalMs} ms`,
      );
      void runRound().then(schedule);
    },
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running;
    },
    refresh: () => (stopped ? Promise.resolve() : runRound()),
    units: () => allUnits,
    flowStatus,
    onChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function sameUnits(a: readonly DesiredUnit[], b: readonly DesiredUnit[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((unit, index) => compareUnits(unit, b[index] as DesiredUnit) === 0);
}

/** Kafka refuses longer topic names (Topic.MAX_NAME_LENGTH). */
export const MAX_TOPIC_NAME_LENGTH = 249;

function overlongRemoteName(flow: FlowConfig, sourceTopic: string, remoteTopic: string): string {
  const prefix = remoteTopic.slice(0, remoteTopic.length - sourceTopic.length);
  return `remote topic name for ${flow.source}:${sourceTopic} would be ${remoteTopic.length} characters ("${prefix}" and the ${sourceTopic.length}-character source name), over Kafka's limit of ${MAX_TOPIC_NAME_LENGTH}: it is not replicated; use identity naming for this flow, or exclude the topic (topics.exclude)`;
}
