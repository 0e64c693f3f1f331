import type { FlowGroupConfig } from "@geo/config";
import type { Logger } from "@geo/logging";
import type { Epoch } from "@geo/positions";
import type { RegionState, RegionStore } from "@geo/region-state";
import type { MonitoredFlow } from "./monitored-flow";

/** A flow group declared active-passive, as the passive-side checks see it now. */
export interface GroupView {
  readonly name: string;
  readonly activeCluster: string;
  readonly passiveCluster: string;
  readonly epoch: Epoch;
  /** No transition runs and the phase is stable: writes in the passive region are wrong. */
  readonly stable: boolean;
  includes(flow: MonitoredFlow): boolean;
}

export interface RegionView {
  /** Whether the store answered: before, `groups()` is empty whatever the configuration. */
  ready(): boolean;
  groups(): readonly GroupView[];
}

/**
 * The groups' current active regions, followed through the region store's watch (ordered, with
 * the initial state of each group). Empty until the store is ready.
 */
export function createRegionView(
  store: RegionStore,
  configs: readonly FlowGroupConfig[],
  logger: Logger,
): RegionView & { close(): void } {
  const states = new Map<string, RegionState>();
  let unsubscribe: (() => void) | undefined;
  let closed = false;
  store
    .whenReady()
    .then(() => {
      if (closed) return;
      unsubscribe = store.watch(undefined, (state) => states.set(state.flowGroup, state));
    })
    .catch((error: Error) =>
      logger.warn({ err: error.message }, "region view: the region store never became ready"),
    );
  return {
    ready: () => unsubscribe !== undefined,
    groups() {
      const out: GroupView[] = [];
      for (const config of configs) {
        const state = states.get(config.name);
        const group = store.groups.get(config.name);
        if (state === undefined || group === undefined) continue;
        const active = group.regions.find((r) => r.region === state.activeRegion);
        const passive = group.regions.find((r) => r.region !== state.activeRegion);
        if (active === undefined || passive === undefined) continue;
        out.push({
          name: config.name,
          activeCluster: active.cluster,
          passiveCluster: passive.cluster,
          epoch: state.epoch,
          stable: state.phase === "stable" && state.transition === undefined,
          includes: (flow) =>
            config.flows.length === 0
              ? config.clusters.includes(flow.source) && config.clusters.includes(flow.target)
              : config.flows.includes(flow.name),
        });
      }
      return out;
    },
    close() {
      closed = true;
      unsubscribe?.();
    },
  };
}
