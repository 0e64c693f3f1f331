import { collectDefaultMetrics, Registry } from "prom-client";

/**
 * A Prometheus registry for one service process: process and Node.js runtime metrics are
 * collected from the start, and every series carries a `service` label so one Prometheus job
 * can scrape all four services without relabelling.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
