// Flow groups (which region is active for a pair of clusters): the schema checks each group's
// fields (schema/config-schema.ts); here its pair and initial active region are worked out from
// the clusters and flows of the file, with the checks that need them.
import type { z } from "zod";
import type { Report } from "./flow-checks";
import type { ClusterConfig, FlowGroupConfig } from "./geo-config";
import type { flowGroupSchema } from "./schema/config-schema";

type WrittenGroup = z.output<ReturnType<typeof flowGroupSchema>>;

/** The ends of a flow of the file, by name. */
export type FlowEnds = ReadonlyMap<string, { readonly source: unknown; readonly target: unknown }>;

/** The group with its pair and active region, or undefined (reported) when they cannot be known. */
export function resolveFlowGroup(
  group: WrittenGroup,
  clusters: Readonly<Record<string, ClusterConfig>>,
  flows: FlowEnds,
  report: Report,
): FlowGroupConfig | undefined {
  const pair = groupClusters(group, clusters, flows, report);
  if (pair === undefined) return undefined;
  if (!checkGroupFlows(group.flows, pair, flows, report)) return undefined;
  const regions = pair.map((alias) => clusters[alias]!.region);
  let initialActive = regions[0]!;
  if (group.initialActive !== undefined) {
    const byAlias = pair.indexOf(group.initialActive);
    if (regions.includes(group.initialActive)) initialActive = group.initialActive;
    else if (byAlias >= 0) initialActive = regions[byAlias]!;
    else {
      report(
        ["initialActive"],
        `"${group.initialActive}" is not a region of the group; use one of ${regions.join(", ")}`,
      );
      return undefined;
    }
  }
  return { ...group, clusters: pair, initialActive };
}

// The pair: given explicitly, or the two clusters the named flows run between.
function groupClusters(
  group: WrittenGroup,
  clusters: Readonly<Record<string, ClusterConfig>>,
  flows: FlowEnds,
  report: Report,
): [string, string] | undefined {
  let aliases = group.clusters;
  if (aliases === undefined) {
    if (group.flows.length === 0) {
      report(
        ["clusters"],
        "is required: name the two clusters of the pair, e.g. [us-east, eu-west], or list the group's flows",
      );
      return undefined;
    }
    const ends = new Set<string>();
    for (const name of group.flows) {
      const flow = flows.get(name);
      if (typeof flow?.source === "string") ends.add(flow.source);
      if (typeof flow?.target === "string") ends.add(flow.target);
    }
    aliases = [...ends];
    if (aliases.length !== 2) {
      report(
        ["clusters"],
        `the group's flows connect ${aliases.length} clusters (${aliases.join(", ")}); a flow group joins exactly two: name them here`,
      );
      return undefined;
    }
  } else if (aliases.length !== 2) {
    report(
      ["clusters"],
      `lists ${aliases.length} clusters; a flow group joins exactly two, e.g. [us-east, eu-west]`,
    );
    return undefined;
  }
  const [a, b] = aliases as [string, string];
  // Unknown aliases were reported by the schema; only flows can name them here.
  if (clusters[a] === undefined || clusters[b] === undefined) return undefined;
  if (clusters[a].region === clusters[b].region) {
    report(
      ["clusters"],
      `clusters "${a}" and "${b}" are both in region "${clusters[a].region}": a flow group's clusters must be in two different regions`,
    );
    return undefined;
  }
  return [a, b];
}

function checkGroupFlows(
  names: readonly string[],
  pair: readonly [string, string],
  flows: FlowEnds,
  report: Report,
): boolean {
  let ok = true;
  names.forEach((name, i) => {
    const flow = flows.get(name);
    if (flow === undefined) return;
    const { source, target } = flow as { source: string; target: string };
    if (!pair.includes(source) || !pair.includes(target)) {
      report(
        ["flows", i],
        `flow "${name}" runs ${source} -> ${target}, outside the group's clusters ${pair.join(" and ")}`,
      );
      ok = false;
    }
  });
  return ok;
}
