// What a transition works on, resolved and checked before anything changes: a refused request
// leaves no trace.
import type { FlowGroupConfig } from "@geo/config";
import { Code, GeoError } from "@geo/grpc";
import { type Epoch, NO_EPOCH } from "@geo/positions";
import {
  type RegionGroup,
  type RegionState,
  type RegionStore,
  requireGroup,
  requireRegion,
  type TransitionKind,
} from "@geo/region-state";
import type { FlowInfo, TransitionDependencies } from "./dependencies";

export interface TransitionRequest {
  readonly kind: TransitionKind;
  readonly flowGroup: string;
  readonly targetRegion: string;
  readonly expectedEpoch: Epoch;
  /** Empty: the group's configured consumer groups. */
  readonly consumerGroups: readonly string[];
  readonly dryRun: boolean;
  readonly actor: string;
  readonly reason: string;
  /** Drain (switchover) or catch-up (failback) bound; 0 for the group's configured one. */
  readonly timeoutMs: number;
  /** Failover only: do not require the active region's failed probes. */
  readonly force: boolean;
  /** Failback only: copy the diverged records into `<topic>.diverged.<region>` (divergence.ts). */
  readonly copyDiverged?: boolean;
}

/** Everything a transition works on, resolved before anything changes. */
export interface Plan {
  readonly request: TransitionRequest;
  readonly group: RegionGroup;
  readonly config: FlowGroupConfig;
  readonly state: RegionState;
  readonly from: { region: string; cluster: string };
  readonly to: { region: string; cluster: string };
  /** Flows from the old active cluster into the new one, and back. */
  readonly forward: readonly FlowInfo[];
  readonly reverse: readonly FlowInfo[];
  readonly consumerGroups: readonly string[];
  readonly timeoutMs: number;
}

export async function planTransition(
  request: TransitionRequest,
  store: RegionStore,
  deps: TransitionDependencies,
  configs: ReadonlyMap<string, FlowGroupConfig>,
): Promise<Plan> {
  const group = requireGroup(store.groups, request.flowGroup);
  const to = requireRegion(group, request.targetRegion);
  const config = configs.get(group.name)!;
  const state = await store.get(group.name);
  refuseOnState(request, state);
  const from = requireRegion(group, state.activeRegion);
  const inGroup = (flow: FlowInfo) => config.flows.length === 0 || config.flows.includes(flow.name);
  const flows = (await deps.flows.list()).filter(inGroup);
  const forward = flows.filter((f) => f.source === from.cluster && f.target === to.cluster);
  const reverse = flows.filter((f) => f.source === to.cluster && f.target === from.cluster);
  if (forward.length === 0) {
    throw new GeoError(
      Code.FAILED_PRECONDITION,
      `flow group "${group.name}" has no flow from ${from.cluster} to ${to.cluster}: nothing replicates into ${to.region}, so its consumers could not resume there; create the flow first`,
    );
  }
  const defaultTimeout =
    request.kind === "failback" ? config.catchUpTimeoutMs : config.drainTimeoutMs;
  return {
    request,
    group,
    config,
    state,
    from,
    to,
    forward,
    reverse,
    consumerGroups:
      request.consumerGroups.length > 0 ? request.consumerGroups : config.consumerGroups,
    timeoutMs: request.timeoutMs > 0 ? request.timeoutMs : defaultTimeout,
  };
}

/** Refusals decided by the state alone; the store's scripts check epoch and lock again. */
function refuseOnState(request: TransitionRequest, state: RegionState): void {
  const group = state.flowGroup;
  if (!request.dryRun) {
    if (!(request.expectedEpoch > NO_EPOCH)) {
      throw new GeoError(
        Code.INVALID_ARGUMENT,
        `expected_epoch is required: read it with GetRegionState (flow group "${group}" is at epoch ${state.epoch})`,
      );
    }
    if (request.expectedEpoch !== state.epoch) {
      throw new GeoError(
        Code.ABORTED,
        `expected_epoch ${request.expectedEpoch} is stale: flow group "${group}" is at epoch ${state.epoch} with ${state.activeRegion} active; read GetRegionState and retry with epoch ${state.epoch} if the move still makes sense`,
      );
    }
    if (state.transition !== undefined && state.transition.expiresAtMs > Date.now()) {
      const t = state.transition;
      throw new GeoError(
        Code.FAILED_PRECONDITION,
        `flow group "${group}" is already in a transition: ${t.kind} ${t.id} to ${t.toRegion} by ${t.actor}; wait for it to end (WatchRegionState shows it) and retry with the new epoch`,
      );
    }
  }
  if (request.targetRegion === state.activeRegion) {
    throw new GeoError(
      Code.FAILED_PRECONDITION,
      `region "${request.targetRegion}" is already active for flow group "${group}" (epoch ${state.epoch}); nothing to move`,
    );
  }
  if (request.kind === "failback" && state.previousActiveRegion !== request.targetRegion) {
    throw new GeoError(
      Code.FAILED_PRECONDITION,
      `failback returns flow group "${group}" to the region active before its last move (${state.previousActiveRegion || "none: it never moved"}), not "${request.targetRegion}"; use Switchover to move elsewhere`,
    );
  }
}
