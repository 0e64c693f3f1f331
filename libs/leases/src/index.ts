// Leases and fencing in Redis: agent liveness, unit ownership with fencing epochs, the agent's
// local lease deadline, and the coordinator's leader lease. See README.md for the protocol.
export { type LeaseKeys, leaseKeys } from "./keys";
export {
  createLeaderElection,
  type DemotionReason,
  type LeaderElection,
  type LeaderElectionOptions,
  type LeaderTerm,
} from "./leader-election";
export {
  createLeaseClock,
  type LeaseClock,
  type LeaseClockOptions,
  type RenewTicket,
} from "./lease-clock";
export { LeaseError, type LeaseErrorCode } from "./lease-error";
export {
  type AgentInfo,
  type AgentLiveness,
  createLeaseStore,
  type GrantOptions,
  type GrantReason,
  type GrantRefusal,
  type GrantResult,
  type LeaderFence,
  type LeaseStore,
  type LeaseStoreOptions,
  type LiveAgent,
  MAX_RENEW_BATCH,
  type ReleaseResult,
  type RenewUnitsResult,
  type RevokeOptions,
  type RevokeResult,
  type UnitEpoch,
  type UnitLostReason,
  type UnitRenewal,
  type UnitState,
} from "./lease-store";
