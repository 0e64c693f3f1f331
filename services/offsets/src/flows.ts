import {
  anchored,
  createTopicFilter,
  DEFAULT_GROUP_EXCLUDES,
  type FlowConfig,
  remoteTopicName,
} from "@geo/config";
import type { CatalogFlow, FlowCatalog } from "@geo/flow-catalog";

/** What the offset-translation service needs of a flow. */
export interface OffsetsFlow {
  readonly name: string;
  readonly source: string;
  readonly target: string;
  /** Whether replication of a partition without progress started at the log start. */
  readonly startsAtEarliest: boolean;
  readonly syncGroupOffsets: boolean;
  replicates(sourceTopic: string): boolean;
  remoteTopic(sourceTopic: string): string;
  /** The source topic a remote topic of this flow copies; undefined when it is not one. */
  sourceTopicOf(remoteTopic: string): string | undefined;
  /** Whether the flow's group filter selects `group` for checkpoints and offset sync. */
  checkpointsGroup(group: string): boolean;
  /** MirrorMaker 2's checkpoint topic in the target: `<source>.checkpoints.internal`. */
  readonly checkpointTopic: string;
}

/** The flows the service knows now (from the configuration, or a catalog refreshed from the coordinator). */
export interface FlowDirectory {
  list(): readonly OffsetsFlow[];
  get(name: string): OffsetsFlow | undefined;
}

export function checkpointTopicOf(sourceAlias: string): string {
  return `${sourceAlias}.checkpoints.internal`;
}

export function offsetsFlow(
  flow: Pick<FlowConfig, "name" | "source" | "target" | "naming" | "topics"> &
    Partial<Pick<FlowConfig, "startFrom" | "groups" | "syncGroupOffsets">>,
): OffsetsFlow {
  const replicates = createTopicFilter(flow);
  const include = (flow.groups?.include ?? [".*"]).map(anchored);
  const exclude = (flow.groups?.exclude ?? DEFAULT_GROUP_EXCLUDES).map(anchored);
  return {
    name: flow.name,
    source: flow.source,
    target: flow.target,
    startsAtEarliest: (flow.startFrom ?? "earliest") === "earliest",
    syncGroupOffsets: flow.syncGroupOffsets ?? true,
    replicates,
    remoteTopic: (topic) => remoteTopicName(flow, flow.source, topic),
    sourceTopicOf: (remote) => {
      if (flow.naming === "identity") return remote;
      const prefix = `${flow.source}.`;
      return remote.startsWith(prefix) ? remote.slice(prefix.length) : undefined;
    },
    checkpointsGroup: (group) =>
      include.some((re) => re.test(group)) && !exclude.some((re) => re.test(group)),
    checkpointTopic: checkpointTopicOf(flow.source),
  };
}

export function flowDirectoryFromConfig(flows: readonly FlowConfig[]): FlowDirectory {
  const byName = new Map(flows.map((f) => [f.name, offsetsFlow(f)]));
  return { list: () => [...byName.values()], get: (name) => byName.get(name) };
}

/**
 * The flows of the catalog (the coordinator's, the file's until it answers). The per-flow
 * options of this service (`groups`, `syncGroupOffsets`, `startFrom`) are not in the
 * coordinator's Flow yet: they come from the file's flow of the same name, else the defaults.
 */
export function flowDirectoryFromCatalog(
  catalog: Pick<FlowCatalog, "list" | "get">,
  fileFlows: readonly FlowConfig[],
): FlowDirectory {
  const options = new Map(fileFlows.map((f) => [f.name, f]));
  const built = new Map<string, { version: bigint; flow: OffsetsFlow }>();
  const view = (flow: CatalogFlow): OffsetsFlow => {
    const cached = built.get(flow.name);
    if (cached !== undefined && cached.version === flow.version) return cached.flow;
    const file = options.get(flow.name);
    const made = offsetsFlow({
      ...flow,
      startFrom: file?.startFrom,
      groups: file?.groups,
      syncGroupOffsets: file?.syncGroupOffsets,
    });
    built.set(flow.name, { version: flow.version, flow: made });
    return made;
  };
  return {
    list: () => catalog.list().map(view),
    get: (name) => {
      const flow = catalog.get(name);
      return flow === undefined ? undefined : view(flow);
    },
  };
}
