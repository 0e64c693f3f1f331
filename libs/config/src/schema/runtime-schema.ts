// The sections that tune the services at run time: leases, discovery, monitoring, logging and
// telemetry.
import { choice, flag, int, ms, optionalText, section } from "./fields";

// leases: how long an agent owns a replication unit

export const leasesSchema = section({
  ttlMs: ms(500, 60_000).default(10_000).describe("lifetime of a lease in Redis"),
  renewIntervalMs: ms(10, 60_000).optional().describe("default ttlMs / 3"),
  safetyMarginMs: ms(1, 60_000).optional().describe("default min(2000, ttlMs / 4)"),
  graceMs: ms(0, 60_000).default(1000).describe("wait after expiry before granting again"),
})
  .transform((leases) => ({
    ...leases,
    // The margin scales down for short test TTLs so that the defaults stay consistent.
    safetyMarginMs: leases.safetyMarginMs ?? Math.min(2000, Math.floor(leases.ttlMs / 4)),
    renewIntervalMs: leases.renewIntervalMs ?? Math.floor(leases.ttlMs / 3),
  }))
  .superRefine((leases, ctx) => {
    const { ttlMs, safetyMarginMs, renewIntervalMs } = leases;
    if (safetyMarginMs >= ttlMs) {
      ctx.addIssue({
        code: "custom",
        path: ["safetyMarginMs"],
        message: `is ${safetyMarginMs} ms, must be less than ttlMs (${ttlMs} ms): an agent stops trusting its lease ttl - margin after renewing`,
      });
    } else if (renewIntervalMs >= ttlMs - safetyMarginMs) {
      ctx.addIssue({
        code: "custom",
        path: ["renewIntervalMs"],
        message: `is ${renewIntervalMs} ms, must be less than ttlMs - safetyMarginMs (${ttlMs - safetyMarginMs} ms), or agents would drop their leases between renewals; about ttlMs / 3 is usual`,
      });
    }
  })
  .prefault({});

// discovery, monitoring, logging, telemetry

export const discoverySchema = section({
  intervalMs: ms(100, 3_600_000).default(2000).describe("how often source topics are listed"),
}).prefault({});

export const monitoringSchema = section({
  probeIntervalMs: ms(100, 60_000).default(2000),
  heartbeatIntervalMs: ms(100, 60_000).default(1000),
  lagSeries: choice(["partition", "topic"])
    .default("partition")
    .describe("topic sums partitions, for fleets with very many partitions"),
  foreignWriteGraceMs: ms(1000, 3_600_000)
    .default(10_000)
    .describe("a passive remote record no agent claimed by then counts as a foreign write"),
  keyConflictWindowMs: ms(0, 86_400_000)
    .default(0)
    .describe(
      "0 (off), or: the same key written in both regions of an active-active pair within it is a conflict",
    ),
  keyConflictMaxKeys: int({ min: 100, max: 10_000_000 })
    .default(100_000)
    .describe("keys remembered per pair; past it keys are sampled"),
}).prefault({});

export const loggingSchema = section({
  level: choice(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
}).prefault({});

const DEFAULT_OTLP_ENDPOINT = "http://127.0.0.1:4317";

export const telemetrySchema = section({
  enabled: flag().optional().describe("default: true when otlpEndpoint is set"),
  otlpEndpoint: optionalText().superRefine((endpoint, ctx) => {
    if (endpoint === undefined || /^https?:$/.test(URL.parse(endpoint)?.protocol ?? "")) return;
    ctx.addIssue({
      code: "custom",
      message: `"${endpoint}" is not an http(s) URL: write the collector's OTLP/gRPC address, e.g. http://otel-collector:4317`,
    });
  }),
  serviceName: optionalText(),
  traceBatchesOneIn: int({ min: 0, max: 1_000_000_000, unit: "batches (0 traces none)" })
    .optional()
    .describe("the agent traces one in this many replicated batches"),
})
  .transform(({ enabled, otlpEndpoint, ...rest }) => ({
    enabled: enabled ?? otlpEndpoint !== undefined,
    otlpEndpoint: otlpEndpoint ?? DEFAULT_OTLP_ENDPOINT,
    ...rest,
  }))
  .prefault({});
