import type { GeoConfig } from "@geo/config";
import { Code, GeoError } from "@geo/grpc";

/** One region of a group and the cluster clients use there. */
export interface RegionEndpoint {
  readonly region: string;
  readonly cluster: string;
  readonly bootstrapServers: readonly string[];
}

/** A flow group as the store needs it. */
export interface RegionGroup {
  readonly name: string;
  /** The two regions, in the configuration's order. */
  readonly regions: readonly [RegionEndpoint, RegionEndpoint];
  /** Region active until a transition is recorded. */
  readonly initialActive: string;
}

export function regionGroupsFromConfig(config: GeoConfig): RegionGroup[] {
  return config.flowGroups.map((group) => {
    const endpoint = (alias: string): RegionEndpoint => {
      const cluster = config.clusters[alias]!;
      return { region: cluster.region, cluster: alias, bootstrapServers: cluster.bootstrapServers };
    };
    return {
      name: group.name,
      regions: [endpoint(group.clusters[0]), endpoint(group.clusters[1])],
      initialActive: group.initialActive,
    };
  });
}

/** The group, or NOT_FOUND naming the groups there are. */
export function requireGroup(groups: ReadonlyMap<string, RegionGroup>, name: string): RegionGroup {
  const group = groups.get(name);
  if (group !== undefined) return group;
  const known = [...groups.keys()].sort();
  throw new GeoError(
    Code.NOT_FOUND,
    known.length === 0
      ? `no flow group "${name}": the configuration defines no flowGroups; add one (see config/reference.yaml)`
      : `no flow group "${name}"; known flow groups: ${known.join(", ")}`,
  );
}

/** The endpoint of `region` in the group, or INVALID_ARGUMENT naming the group's regions. */
export function requireRegion(group: RegionGroup, region: string): RegionEndpoint {
  const endpoint = group.regions.find((candidate) => candidate.region === region);
  if (endpoint !== undefined) return endpoint;
  throw new GeoError(
    Code.INVALID_ARGUMENT,
    `region "${region}" is not part of flow group "${group.name}"; its regions are ${group.regions
      .map((r) => `${r.region} (cluster ${r.cluster})`)
      .join(" and ")}`,
  );
}
