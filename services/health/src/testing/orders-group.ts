import type { FlowGroupConfig } from "@geo/config";
import { toEpoch } from "@geo/positions";
import type { RegionGroup } from "@geo/region-state";
import type { TransitionRequest } from "../region/transition-plan";

/** The two-region group the region tests move: us-east active, eu-west passive. */
export const ORDERS_GROUP: RegionGroup = {
  name: "orders",
  regions: [
    { region: "us-east", cluster: "us-east", bootstrapServers: ["127.0.0.1:1"] },
    { region: "eu-west", cluster: "eu-west", bootstrapServers: ["127.0.0.1:2"] },
  ],
  initialActive: "us-east",
};

/**
 * Its flow-group config with short timeouts, automatic failover and the protection keeper off
 * unless overridden.
 */
export function ordersGroupConfig(overrides: Partial<FlowGroupConfig> = {}): FlowGroupConfig {
  return {
    name: "orders",
    clusters: ["us-east", "eu-west"],
    flows: [],
    initialActive: "us-east",
    consumerGroups: [],
    drainTimeoutMs: 2000,
    catchUpTimeoutMs: 2000,
    failoverAfterProbeFailures: 3,
    autoFailover: { enabled: false, unreachableForMs: 60_000 },
    passiveProtection: { reconcileIntervalMs: 0 },
    ...overrides,
  };
}

/** A switchover of the group to eu-west at epoch 1 (not a dry run), unless overridden. */
export const ordersTransition = (
  overrides: Partial<TransitionRequest> = {},
): TransitionRequest => ({
  kind: "switchover",
  flowGroup: "orders",
  targetRegion: "eu-west",
  expectedEpoch: toEpoch(1),
  consumerGroups: [],
  dryRun: false,
  actor: "alice",
  reason: "maintenance",
  timeoutMs: 0,
  force: false,
  ...overrides,
});
