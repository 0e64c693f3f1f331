export { Counter, Gauge, Histogram, Registry } from "prom-client";
export { createMetricsRegistry } from "./metrics-registry";
export {
  type MetricsServer,
  type MetricsServerOptions,
  startMetricsServer,
} from "./metrics-server";
