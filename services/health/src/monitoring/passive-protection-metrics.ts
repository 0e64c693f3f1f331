import { Counter, Gauge, type Registry } from "@geo/metrics";
import type { ProtectionChange, ProtectionKeeper } from "../region/protection-keeper";

/**
 * Series of the protection keeper (region/protection-keeper.ts; docs/metrics.md). A change is
 * counted per topic; a failed pass is retried with backoff, so a rising failure count with no
 * change means a cluster's ACLs cannot be kept.
 */
export function registerPassiveProtectionMetrics(
  registry: Registry,
  keeper: () => ProtectionKeeper | undefined,
) {
  const registers = [registry];
  const counter = <L extends string>(name: string, labelNames: readonly L[], help: string) =>
    new Counter<L>({ name, help, labelNames, registers });
  const changes = counter(
    "geo_passive_protection_changes_total",
    ["flow_group", "cluster", "change"],
    "Replicated topics whose write denial the protection keeper changed between transitions: denied on the passive side (a first passive region, a topic created after a move), lifted on the active side (left by a failed transition).",
  );
  const failures = counter(
    "geo_passive_protection_pass_failures_total",
    ["flow_group"],
    "Protection keeper passes over a flow group that failed (a cluster's ACLs could not be read or changed, or the coordinator's flows not listed); retried with backoff.",
  );
  new Gauge({
    name: "geo_passive_protected_topics",
    help: "Replicated topics of a flow group's passive cluster denied to applications' writes, as of the protection keeper's last pass over it.",
    labelNames: ["flow_group", "cluster"],
    registers,
    collect() {
      this.reset();
      for (const row of keeper()?.protectedTopics() ?? [])
        this.set({ flow_group: row.flowGroup, cluster: row.cluster }, row.topics);
    },
  });
  return {
    changed: (change: ProtectionChange) =>
      changes.inc(
        { flow_group: change.flowGroup, cluster: change.cluster, change: change.change },
        change.topics.length,
      ),
    passFailed: (flowGroup: string) => failures.inc({ flow_group: flowGroup }),
  };
}
