// Leases and fencing in Redis: agent liveness, unit ownership with fencing epochs, the agent's
// local lease deadline, and the coordinator's leader lease. See README.md for the protocol.
export { type LeaseKeys, leaseKeys } from "./keys";
export { createLeaderElection } from "./leader-election";
export type {
  DemotionReason,
  LeaderElection,
  LeaderElectionOptions,
  LeaderTerm,
} from "./leader-election-types";
export {
  createLeaseClock,
  type LeaseClock,
  type LeaseClockOptions,
  type RenewTicket,
} from "./lease-clock";
export { LeaseError, type LeaseErrorCode } from "./lease-error";
export { createLeaseStore } from "./lease-store";
export type {
  AgentInfo,
  AgentLiveness,
  GrantOptions,
  GrantReason,
  GrantRefusal,
  GrantResult,
  LeaderFence,
  LeaseStore,
  LeaseStoreOptions,
  LiveAgent,
  ReleaseResult,
  RenewUnitsResult,
  RevokeOptions,
  RevokeResult,
  UnitEpoch,
  UnitLostReason,
  UnitRenewal,
  UnitState,
} from "./lease-store-types";
export { MAX_RENEW_BATCH } from "./unit-renewal";
