import { Counter, Gauge, Histogram, type Registry } from "@geo/metrics";
import type { FlowDiscoveryStatus } from "./types";

export interface DiscoveryMetrics {
  readonly failures: Counter<"cluster" | "role">;
  readonly roundSeconds: Histogram;
}

/**
 * Discovery's series on the coordinator's registry. Per-flow gauges are read from the current
 * status at scrape time, so they never drift from what the admin API answers.
 */
export function registerDiscoveryMetrics(
  registry: Registry,
  source: {
    flows(): readonly string[];
    status(flow: string): FlowDiscoveryStatus | undefined;
  },
): DiscoveryMetrics {
  const perFlow = (
    name: string,
    help: string,
    value: (status: FlowDiscoveryStatus) => number,
  ): void => {
    new Gauge({
      name,
      help,
      labelNames: ["flow"],
      registers: [registry],
      collect() {
        this.reset();
        for (const flow of source.flows()) {
          const status = source.status(flow);
          if (status !== undefined) this.set({ flow }, value(status));
        }
      },
    });
  };
  perFlow(
    "geo_coordinator_flow_units",
    "Desired units (source partitions) per flow.",
    (s) => s.unitCount,
  );
  perFlow(
    "geo_coordinator_flow_matched_topics",
    "Source topics matching the flow's filter at the last discovery.",
    (s) => s.matchedTopicCount,
  );
  perFlow(
    "geo_coordinator_flow_warnings",
    "Warnings in the flow's status.",
    (s) => s.warnings.length,
  );
  perFlow(
    "geo_coordinator_flow_discovery_age_seconds",
    "Seconds since the flow's source topics were last listed (-1 before the first listing).",
    (s) => (s.discoveryTime === undefined ? -1 : (Date.now() - s.discoveryTime.getTime()) / 1000),
  );
  return {
    failures: new Counter({
      name: "geo_coordinator_discovery_failures_total",
      help: "Discovery attempts on a cluster that failed, by cluster and role (source, target).",
      labelNames: ["cluster", "role"],
      registers: [registry],
    }),
    roundSeconds: new Histogram({
      name: "geo_coordinator_discovery_round_seconds",
      help: "Duration of a discovery round: listing sources and syncing topics into targets.",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}
