// Which region is active for each flow group: Redis compare-and-set scripts, a transition lock
// with recorded steps, persistence in the region topic of both clusters, and ordered watches.
export type { Persister } from "./persister";
export type {
  ProtectionLock,
  ProtectionLockResult,
  TakeProtectionLock,
} from "./protection-lock";
export {
  type RegionEndpoint,
  type RegionGroup,
  regionGroupsFromConfig,
  requireGroup,
  requireRegion,
} from "./region-groups";
export {
  createKafkaRegionLog,
  createMemoryRegionLog,
  decodeEntry,
  encodeEntry,
  type RegionLog,
  type RegionLogEntry,
} from "./region-log";
export {
  type BeginTransition,
  createRegionStore,
  type FinishTransition,
  type RegionStore,
  type RegionStoreOptions,
} from "./region-store";
export { initialState } from "./restore-groups";
export type { StateListener } from "./state-watcher";
export {
  type DivergedRange,
  type GroupCheckpointAge,
  isNewer,
  type PartitionRisk,
  type PassiveProtectionReport,
  type RegionPhase,
  type RegionState,
  type StepRecord,
  type TransitionFindings,
  type TransitionKind,
  type TransitionLock,
  type TransitionOutcome,
  type TransitionRecord,
} from "./types";
