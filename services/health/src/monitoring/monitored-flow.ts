import { createTopicFilter, type GeoConfig, remoteTopicName } from "@geo/config";

/**
 * What the health service needs of a flow. `@geo/flow-catalog`'s CatalogFlow has this shape, so
 * the flows can come from the coordinator's ListFlows as well as from the file.
 */
export interface MonitoredFlow {
  readonly name: string;
  readonly source: string;
  readonly target: string;
  readonly paused: boolean;
  replicates(sourceTopic: string): boolean;
  remoteTopic(sourceTopic: string): string;
}

export interface FlowSource {
  list(): readonly MonitoredFlow[];
}

/** The flows of the configuration file, as MonitoredFlows. */
export function configFlows(config: Pick<GeoConfig, "flows">): FlowSource {
  const flows = config.flows.map((flow): MonitoredFlow => {
    const filter = createTopicFilter(flow);
    return {
      name: flow.name,
      source: flow.source,
      target: flow.target,
      paused: flow.paused,
      replicates: filter,
      remoteTopic: (topic) => remoteTopicName(flow, flow.source, topic),
    };
  });
  return { list: () => flows };
}
