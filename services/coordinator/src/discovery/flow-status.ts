// What discovery knows of each flow after a round: its matched source topics, its units (matched
// source partitions whose remote partition exists), the topics it lost lately and its warnings.
// A flow whose source could not be listed keeps its last units; the status view reads this state.
import { createTopicFilter, type FlowConfig, remoteTopicName } from "@geo/config";
import type { Logger } from "@geo/logging";
import type { ClusterAttempts, ClusterTrack } from "./cluster-attempts";
import type { SourceRound } from "./source-listing";
import type { TargetRound } from "./target-sync";
import type { DesiredUnit, FlowDiscoveryStatus } from "./types";

interface RemovedTopic {
  readonly at: Date;
  readonly deleted: boolean;
  readonly units: number;
  readonly remoteTopic: string;
}

export interface FlowState {
  matched: string[];
  units: DesiredUnit[];
  discoveryTime?: Date;
  syncProblems: string[];
  removed: Map<string, RemovedTopic>;
  warnings: string[];
}

/** What one round found, as the flows' states read it. */
export interface FlowRound {
  readonly sources: ReadonlyMap<string, SourceRound>;
  readonly targets: ReadonlyMap<string, TargetRound>;
  /** Each target's partition counts at its last successful sync (for targets failing now). */
  readonly lastTargetTopics: ReadonlyMap<string, ReadonlyMap<string, number>>;
  readonly attempts: ClusterAttempts;
}

export interface FlowStateSettings {
  readonly logger: Logger;
  /** How long a removed topic stays mentioned in its flow's warnings. */
  readonly removedTopicNoticeMs: number;
}

/** Brings the states in line with a round's findings; flows no longer configured are forgotten. */
export function updateFlowStates(
  states: Map<string, FlowState>,
  flows: readonly FlowConfig[],
  round: FlowRound,
  settings: FlowStateSettings,
): void {
  const now = Date.now();
  const names = new Set(flows.map((flow) => flow.name));
  for (const name of states.keys()) if (!names.has(name)) states.delete(name);
  for (const flow of flows) {
    let state = states.get(flow.name);
    if (state === undefined) {
      state = { matched: [], units: [], syncProblems: [], removed: new Map(), warnings: [] };
      states.set(flow.name, state);
    }
    updateFlowState(state, flow, round, settings, now);
  }
}

function updateFlowState(
  state: FlowState,
  flow: FlowConfig,
  round: FlowRound,
  settings: FlowStateSettings,
  now: number,
): void {
  // Unreachable clusters first; the attempts log those, the others are logged when new.
  const clusterWarnings: string[] = [];
  const source = round.sources.get(flow.source);
  const target = round.targets.get(flow.target);
  if (source === undefined) {
    const warning = sourceClusterWarning(flow, state, round.attempts.track("source", flow.source));
    if (warning !== undefined) clusterWarnings.push(warning);
  } else {
    const remotePartitions = target?.topics ?? round.lastTargetTopics.get(flow.target) ?? new Map();
    refreshFromSource(state, flow, source, remotePartitions, settings.logger);
    if (target !== undefined) {
      state.syncProblems = [
        ...target.targetProblems,
        ...(target.problemsByFlow.get(flow.name) ?? []),
      ];
    }
  }
  if (target === undefined) {
    const warning = targetClusterWarning(flow, round.attempts.track("target", flow.target));
    if (warning !== undefined) clusterWarnings.push(warning);
  }
  const warnings = flowWarnings(state, flow, now, settings.removedTopicNoticeMs);
  const previous = new Set(state.warnings);
  for (const warning of warnings) {
    if (!previous.has(warning))
      settings.logger.warn({ flow: flow.name }, `flow ${flow.name}: ${warning}`);
  }
  state.warnings = [...clusterWarnings, ...warnings];
}

/** Takes the source's fresh listing: matched topics, units, and the topics that stopped matching. */
function refreshFromSource(
  state: FlowState,
  flow: FlowConfig,
  source: SourceRound,
  remotePartitions: ReadonlyMap<string, number>,
  logger: Logger,
): void {
  const matched = [...source.topics.keys()].filter(createTopicFilter(flow)).sort();
  const units = desiredUnits(flow, source, matched, remotePartitions);
  const matchedNow = new Set(matched);
  for (const topic of state.matched) {
    if (!matchedNow.has(topic)) noteRemovedTopic(state, flow, source, topic, logger);
  }
  for (const topic of matched) state.removed.delete(topic);
  state.matched = matched;
  state.units = units;
  state.discoveryTime = source.at;
}

function desiredUnits(
  flow: FlowConfig,
  source: SourceRound,
  matched: readonly string[],
  remotePartitions: ReadonlyMap<string, number>,
): DesiredUnit[] {
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
  return units;
}

function noteRemovedTopic(
  state: FlowState,
  flow: FlowConfig,
  source: SourceRound,
  topic: string,
  logger: Logger,
): void {
  const deleted = !source.topics.has(topic);
  const removedUnits = state.units.filter((unit) => unit.sourceTopic === topic).length;
  const remoteTopic = remoteTopicName(flow, flow.source, topic);
  state.removed.set(topic, { at: source.at, deleted, units: removedUnits, remoteTopic });
  logger.info(
    { flow: flow.name, cluster: flow.source, topic, units: removedUnits },
    `source topic ${topic} ${deleted ? `was deleted from ${flow.source}` : "no longer matches the filter"}; its ${removedUnits} units stop, remote topic ${remoteTopic} stays on ${flow.target}`,
  );
}

function sourceClusterWarning(
  flow: FlowConfig,
  state: FlowState,
  track: ClusterTrack | undefined,
): string | undefined {
  if (track?.error === undefined) return undefined;
  return `could not list topics on ${flow.source} since ${track.since?.toISOString()} (${track.failures} failed attempts, retrying): ${track.error}; keeping the ${state.units.length} units last discovered${state.discoveryTime === undefined ? "" : ` at ${state.discoveryTime.toISOString()}`}`;
}

function targetClusterWarning(
  flow: FlowConfig,
  track: ClusterTrack | undefined,
): string | undefined {
  if (track?.error === undefined) return undefined;
  return `could not sync topics into ${flow.target} since ${track.since?.toISOString()} (${track.failures} failed attempts, retrying): ${track.error}; new source topics and partitions wait for their remote topics`;
}

/** The flow's own warnings (not its clusters'); removed topics past their notice are forgotten. */
function flowWarnings(
  state: FlowState,
  flow: FlowConfig,
  now: number,
  removedTopicNoticeMs: number,
): string[] {
  const warnings: string[] = [];
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
  return warnings;
}

/** The status view of one flow; a configured flow not discovered yet reads as empty. */
export function flowStatus(
  states: ReadonlyMap<string, FlowState>,
  name: string,
  listFlows: () => readonly FlowConfig[],
): FlowDiscoveryStatus | undefined {
  const state = states.get(name);
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
