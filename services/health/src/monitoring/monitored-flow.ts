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
