// Flow groups (which region is active for a pair of clusters) and where region states persist.
// Kept apart from parse-config.ts, which only calls in here; the checker is passed in.
import { type AutoFailoverChecker, buildAutoFailover } from "./auto-failover";
import type { ConfigIssue } from "./config-error";
import { didYouMean } from "./did-you-mean";
import type { ClusterConfig, FlowConfig, FlowGroupConfig, RegionStoreConfig } from "./geo-config";
import { GEO_TOPICS } from "./topic-names";

type Seg = string | number;
type Obj = Record<string, unknown>;

/** The parts of parse-config's checker used here. */
export interface GroupChecker extends AutoFailoverChecker {
  readonly issues: ConfigIssue[];
  issue(path: readonly Seg[], message: string, keyOnly?: boolean): void;
  record(value: unknown, path: readonly Seg[], what: string): Obj | undefined;
  keys(obj: Obj, path: readonly Seg[], allowed: readonly string[]): void;
  string(value: unknown, path: readonly Seg[], opts?: { required?: boolean }): string | undefined;
  list(value: unknown, path: readonly Seg[]): unknown[] | undefined;
  int(
    value: unknown,
    path: readonly Seg[],
    fallback: number,
    range: { min: number; max: number; unit?: string },
  ): number;
}

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const CONSUMER_GROUP = /^[A-Za-z0-9._-]{1,249}$/;
const GROUP_KEYS = [
  "name",
  "clusters",
  "flows",
  "initialActive",
  "consumerGroups",
  "drainTimeoutMs",
  "catchUpTimeoutMs",
  "failoverAfterProbeFailures",
  "autoFailover",
];

export function buildRegionStore(value: unknown, check: GroupChecker): RegionStoreConfig {
  const path = ["regionStore"];
  const raw = check.record(value, path, "regionStore") ?? {};
  check.keys(raw, path, ["topic"]);
  const topic = check.string(raw.topic, [...path, "topic"]) ?? GEO_TOPICS.regions;
  if (topic === "") check.issue([...path, "topic"], "must not be empty");
  return { topic: topic === "" ? GEO_TOPICS.regions : topic };
}

export function buildFlowGroups(
  value: unknown,
  clusters: Readonly<Record<string, ClusterConfig>> | undefined,
  flows: readonly FlowConfig[],
  check: GroupChecker,
): FlowGroupConfig[] {
  const items = check.list(value, ["flowGroups"]) ?? [];
  const out: FlowGroupConfig[] = [];
  const names = new Map<string, number>();
  items.forEach((item, index) => {
    const path: Seg[] = ["flowGroups", index];
    const raw = check.record(item, path, "a flow group");
    if (raw === undefined) {
      check.issue(path, "is empty: a flow group needs a name and its clusters or flows");
      return;
    }
    const before = check.issues.length;
    const group = buildFlowGroup(raw, path, clusters ?? {}, flows, check);
    const name = typeof raw.name === "string" ? raw.name : undefined;
    const first = name === undefined ? undefined : names.get(name);
    if (first !== undefined) {
      check.issue(
        [...path, "name"],
        `duplicate flow group name "${name}" (also flowGroups[${first}]): give each group a unique name`,
      );
      return;
    }
    if (name !== undefined) names.set(name, index);
    if (group !== undefined && check.issues.length === before) out.push(group);
  });
  return out;
}

function buildFlowGroup(
  raw: Obj,
  path: Seg[],
  clusters: Readonly<Record<string, ClusterConfig>>,
  flows: readonly FlowConfig[],
  check: GroupChecker,
): FlowGroupConfig | undefined {
  check.keys(raw, path, GROUP_KEYS);
  const name = check.string(raw.name, [...path, "name"], { required: true });
  if (name !== undefined && !GROUP_NAME.test(name)) {
    check.issue(
      [...path, "name"],
      `"${name}" is not valid: use letters, digits, ".", "_" and "-", starting with a letter or digit`,
    );
  }
  const groupFlows = strings(raw.flows, [...path, "flows"], check);
  const pair = groupClusters(
    raw.clusters,
    [...path, "clusters"],
    groupFlows,
    flows,
    clusters,
    check,
  );
  if (name === undefined || pair === undefined) return undefined;
  checkGroupFlows(groupFlows, pair, path, flows, check);
  const regionOf = (alias: string) => clusters[alias]?.region ?? alias;
  const regions = pair.map(regionOf);
  const initialActive = activeRegion(
    raw.initialActive,
    [...path, "initialActive"],
    pair,
    clusters,
    check,
  );
  const consumerGroups = strings(raw.consumerGroups, [...path, "consumerGroups"], check);
  consumerGroups.forEach((group, i) => {
    if (!CONSUMER_GROUP.test(group)) {
      check.issue(
        [...path, "consumerGroups", i],
        `"${group}" is not a valid consumer group id: use letters, digits, ".", "_" and "-"`,
      );
    }
  });
  return {
    name,
    clusters: pair,
    flows: groupFlows,
    initialActive: initialActive ?? regions[0]!,
    consumerGroups,
    drainTimeoutMs: check.int(raw.drainTimeoutMs, [...path, "drainTimeoutMs"], 60_000, {
      min: 100,
      max: 3_600_000,
      unit: "ms",
    }),
    catchUpTimeoutMs: check.int(raw.catchUpTimeoutMs, [...path, "catchUpTimeoutMs"], 600_000, {
      min: 100,
      max: 86_400_000,
      unit: "ms",
    }),
    failoverAfterProbeFailures: check.int(
      raw.failoverAfterProbeFailures,
      [...path, "failoverAfterProbeFailures"],
      3,
      { min: 1, max: 1000 },
    ),
    autoFailover: buildAutoFailover(raw.autoFailover, [...path, "autoFailover"], check),
  };
}

function strings(value: unknown, path: Seg[], check: GroupChecker): string[] {
  const items = check.list(value, path) ?? [];
  const out: string[] = [];
  items.forEach((item, index) => {
    const text = check.string(item, [...path, index], { required: true });
    if (text !== undefined && text !== "") out.push(text);
  });
  return out;
}

// The pair: given explicitly, or the two clusters the named flows run between.
function groupClusters(
  value: unknown,
  path: Seg[],
  groupFlows: readonly string[],
  flows: readonly FlowConfig[],
  clusters: Readonly<Record<string, ClusterConfig>>,
  check: GroupChecker,
): [string, string] | undefined {
  const known = Object.keys(clusters).sort();
  let aliases: string[];
  if (value === undefined || value === null) {
    const ends = new Set<string>();
    for (const name of groupFlows) {
      const flow = flows.find((candidate) => candidate.name === name);
      if (flow !== undefined) ends.add(flow.source).add(flow.target);
    }
    if (groupFlows.length === 0) {
      check.issue(
        path,
        "is required: name the two clusters of the pair, e.g. [us-east, eu-west], or list the group's flows",
      );
      return undefined;
    }
    aliases = [...ends];
    if (aliases.length !== 2) {
      if (ends.size > 0) {
        check.issue(
          path,
          `the group's flows connect ${ends.size} clusters (${aliases.join(", ")}); a flow group joins exactly two: name them here`,
        );
      }
      return undefined;
    }
  } else {
    aliases = strings(value, path, check);
    if (aliases.length !== 2) {
      check.issue(
        path,
        `lists ${aliases.length} clusters; a flow group joins exactly two, e.g. [us-east, eu-west]`,
      );
      return undefined;
    }
  }
  for (const [i, alias] of aliases.entries()) {
    if (clusters[alias] === undefined) {
      check.issue(
        value === undefined ? path : [...path, i],
        `unknown cluster "${alias}"${didYouMean(alias, known)}; known clusters: ${known.join(", ")}`,
      );
      return undefined;
    }
  }
  const [a, b] = aliases as [string, string];
  if (clusters[a]!.region === clusters[b]!.region) {
    check.issue(
      path,
      `clusters "${a}" and "${b}" are both in region "${clusters[a]!.region}": a flow group's clusters must be in two different regions`,
    );
    return undefined;
  }
  return [a, b];
}

function checkGroupFlows(
  groupFlows: readonly string[],
  pair: readonly [string, string],
  path: Seg[],
  flows: readonly FlowConfig[],
  check: GroupChecker,
): void {
  const known = flows.map((flow) => flow.name).sort();
  groupFlows.forEach((name, i) => {
    const flow = flows.find((candidate) => candidate.name === name);
    if (flow === undefined) {
      check.issue(
        [...path, "flows", i],
        `unknown flow "${name}"${didYouMean(name, known)}; a group names flows of this file (omit "flows" to take every flow between its two clusters, API flows included)`,
      );
      return;
    }
    if (!pair.includes(flow.source) || !pair.includes(flow.target)) {
      check.issue(
        [...path, "flows", i],
        `flow "${name}" runs ${flow.source} -> ${flow.target}, outside the group's clusters ${pair.join(" and ")}`,
      );
    }
  });
}

function activeRegion(
  value: unknown,
  path: Seg[],
  pair: readonly [string, string],
  clusters: Readonly<Record<string, ClusterConfig>>,
  check: GroupChecker,
): string | undefined {
  const given = check.string(value, path);
  if (given === undefined || given === "") return undefined;
  const regions = pair.map((alias) => clusters[alias]!.region);
  if (regions.includes(given)) return given;
  const byAlias = pair.indexOf(given as string);
  if (byAlias >= 0) return regions[byAlias];
  check.issue(path, `"${given}" is not a region of the group; use one of ${regions.join(", ")}`);
  return undefined;
}
