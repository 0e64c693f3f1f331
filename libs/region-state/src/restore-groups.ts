// Startup: rebuild each group's state in Redis from the region topic of its clusters, so an
// empty Redis never forgets which region is active and epochs stay monotonic.
import type { Logger } from "@geo/logging";
import { toEpoch } from "@geo/positions";
import type { Redis } from "ioredis";
import type { Persister } from "./persister";
import type { RegionGroup } from "./region-groups";
import type { RegionLog, RegionLogEntry } from "./region-log";
import type { RunScript } from "./scripts";
import {
  isNewer,
  normalizeState,
  type RegionState,
  regionJson,
  type TransitionRecord,
} from "./types";

export interface RestoreContext {
  readonly redis: Redis;
  readonly run: RunScript;
  readonly log: RegionLog;
  readonly persister: Persister;
  readonly logger: Logger;
  readonly keysOf: (group: string) => readonly [string, string, string];
  readonly historyMax: number;
}

/** The state of a group nothing was ever recorded for. */
export function initialState(group: RegionGroup): RegionState {
  return {
    flowGroup: group.name,
    activeRegion: group.initialActive,
    epoch: toEpoch(1),
    phase: "stable",
    previousActiveRegion: "",
    updateTimeMs: Date.now(),
    updatedBy: "config",
    reason: "initial active region from the configuration (flowGroups[].initialActive)",
    revision: 1,
  };
}

/**
 * Restores the groups whose clusters could be read (at least one of a group's two); returns
 * the names of those restored. Reads each cluster once.
 */
export async function restoreGroups(
  context: RestoreContext,
  groups: readonly RegionGroup[],
): Promise<string[]> {
  const clusters = [...new Set(groups.flatMap((g) => g.regions.map((r) => r.cluster)))];
  const reads = new Map<string, RegionLogEntry[] | Error>();
  await Promise.all(
    clusters.map(async (cluster) => {
      reads.set(cluster, await context.log.read(cluster).catch((error: Error) => error));
    }),
  );
  const restored: string[] = [];
  for (const group of groups) {
    const readable = group.regions
      .map((r) => ({ cluster: r.cluster, entries: reads.get(r.cluster) }))
      .filter((r): r is { cluster: string; entries: RegionLogEntry[] } => Array.isArray(r.entries));
    if (readable.length === 0) {
      context.logger.warn(
        { flowGroup: group.name, clusters: group.regions.map((r) => r.cluster) },
        "neither cluster of the flow group can be read; its region state waits",
      );
      continue;
    }
    await restoreGroup(context, group, readable);
    restored.push(group.name);
  }
  return restored;
}

async function restoreGroup(
  context: RestoreContext,
  group: RegionGroup,
  readable: readonly { cluster: string; entries: RegionLogEntry[] }[],
): Promise<void> {
  const latestPer = new Map<string, RegionState | undefined>();
  const records = new Map<string, TransitionRecord>();
  for (const { cluster, entries } of readable) {
    let latest: RegionState | undefined;
    for (const entry of entries) {
      if (entry.type === "state" && entry.state.flowGroup === group.name) {
        if (isNewer(entry.state, latest)) latest = entry.state;
      } else if (entry.type === "transition" && entry.record.flowGroup === group.name) {
        records.set(entry.record.id, entry.record);
      }
    }
    latestPer.set(cluster, latest);
  }
  let candidate: RegionState | undefined;
  for (const latest of latestPer.values())
    if (latest && isNewer(latest, candidate)) candidate = latest;
  const keys = context.keysOf(group.name);
  const [restored, json] = (await context.run("geoRegionRestore", keys, [
    regionJson(candidate ?? initialState(group)),
  ])) as [number, string];
  const state = normalizeState(JSON.parse(json));
  context.logger.info(
    {
      flowGroup: group.name,
      activeRegion: state.activeRegion,
      epoch: String(state.epoch),
      restored: restored === 1,
    },
    restored === 1 ? "region state restored into Redis" : "region state already in Redis",
  );
  await restoreHistory(context, keys[2], records);
  // A cluster whose topic is behind (it was down during a transition) is brought up to date.
  const behind = group.regions
    .map((r) => r.cluster)
    .filter((cluster) => isNewer(state, latestPer.get(cluster)));
  if (behind.length > 0) {
    context.persister.enqueue(behind, [
      { type: "state", state },
      ...[...records.values()].map((record) => ({ type: "transition" as const, record })),
    ]);
  }
}

async function restoreHistory(
  context: RestoreContext,
  historyKey: string,
  records: ReadonlyMap<string, TransitionRecord>,
): Promise<void> {
  if (records.size === 0 || (await context.redis.llen(historyKey)) > 0) return;
  const newestFirst = [...records.values()]
    .sort((a, b) => (b.endTimeMs ?? b.startTimeMs) - (a.endTimeMs ?? a.startTimeMs))
    .slice(0, context.historyMax);
  await context.redis.rpush(historyKey, ...newestFirst.map((record) => regionJson(record)));
}
