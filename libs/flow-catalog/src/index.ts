// The flows services other than the coordinator work on, read from the coordinator.
export { type CatalogFlow, flowFromConfig, flowFromMessage } from "./catalog-flow";
export { createFlowCatalog, type FlowCatalog, type FlowCatalogOptions } from "./flow-catalog";
