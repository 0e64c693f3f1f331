// The configuration file's schema, declared once: it validates the file (with the messages and
// field paths operators see), gives the TypeScript types (geo-config.ts) and the JSON Schema
// editors use (config/geo.schema.json). One section per config area, in the file's order; rules
// that relate one area to another (overlapping flows, duplicate names) are the named checks of
// flow-checks.ts and flow-groups.ts, and references to clusters and flows are checked through
// SchemaContext.
import { z } from "zod";
import { parseHostPort } from "../host-port";
import { FLOW_LIMITS } from "../limits";
import { regexProblem } from "../regex-check";
import { GEO_TOPICS } from "../topic-names";
import {
  clusterRef,
  filePath,
  flowRef,
  regionRef,
  requiredFilePath,
  type SchemaContext,
} from "./context";
import {
  choice,
  describeValue,
  flag,
  hostPort,
  int,
  listOrString,
  ms,
  name,
  optionalText,
  requiredText,
  section,
  text,
  unlessMissing,
} from "./fields";

const MAX_NAME = FLOW_LIMITS.maxNameLength;
const ALIAS = /^[a-z][a-z0-9-]*$/;
const ALIAS_RULE = 'use lowercase letters, digits and "-", starting with a letter';
const FLOW_NAME = /^[A-Za-z0-9][A-Za-z0-9._>-]*$/;
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const CONSUMER_GROUP = /^[A-Za-z0-9._-]{1,249}$/;

export const DEFAULT_PORTS = Object.freeze({
  coordinator: 7100,
  offsets: 7200,
  health: 7300,
  agent: 7400,
});

/** MirrorMaker 2's default `groups.exclude`: console consumers, Connect workers, internal groups. */
export const DEFAULT_GROUP_EXCLUDES: readonly string[] = Object.freeze([
  "console-consumer-.*",
  "connect-.*",
  "__.*",
]);

// ---------------------------------------------------------------------------------------------
// clusters: TLS and SASL of Kafka (TLS also of Redis)

function tlsSchema(context: SchemaContext) {
  const options = section({
    enabled: flag().default(true).describe("default true: a tls section means TLS is wanted"),
    caFile: filePath(context).describe("PEM CA bundle that signed the server certificates"),
    certFile: filePath(context).describe("PEM client certificate (mutual TLS); needs keyFile"),
    keyFile: filePath(context).describe("PEM client key (mutual TLS); needs certFile"),
    rejectUnauthorized: flag()
      .default(true)
      .describe("false accepts any server certificate (test set-ups only)"),
  }).superRefine((tls, ctx) => {
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [tls.certFile === undefined ? "certFile" : "keyFile"],
        message: "is missing: a client certificate needs both certFile and keyFile",
      });
    }
  });
  // "tls: true" is shorthand for a TLS connection verified against the system CAs.
  const shorthand = flag().transform(
    (enabled): z.output<typeof options> => ({ enabled, rejectUnauthorized: true }),
  );
  return z
    .union([shorthand, options], {
      error: (issue) => `must be true, false or a mapping, found ${describeValue(issue.input)}`,
    })
    .describe('TLS; "tls: true" is short for TLS verified against the system CAs');
}

const saslSchema = section({
  mechanism: choice(["plain", "scram-sha-256", "scram-sha-512"], {
    whenMissing: "is required: plain, scram-sha-256 or scram-sha-512",
  }),
  username: requiredText(),
  password: requiredText({ secret: true }),
});

function clusterSchema(context: SchemaContext) {
  return section(
    {
      region: name(ALIAS, ALIAS_RULE, MAX_NAME)
        .optional()
        .describe("region the cluster lives in; default: the alias"),
      bootstrapServers: listOrString(hostPort(), {
        splitCommas: true,
        whenMissing: 'is required: list the brokers as "host:port", e.g. ["kafka-1:9092"]',
        min: [1, 'is empty: list at least one broker as "host:port"'],
      }).describe('"host:port" of the brokers; one string with commas also works'),
      tls: tlsSchema(context).optional(),
      sasl: saslSchema.optional(),
    },
    { what: "a cluster", empty: "give it bootstrapServers" },
  );
}

function clustersSchema(context: SchemaContext) {
  return z
    .record(z.string(), clusterSchema(context), {
      error: unlessMissing(
        (input) =>
          `clusters must be a mapping of "key: value" lines, found ${describeValue(input)}`,
      ),
    })
    .superRefine((clusters, ctx) => {
      const aliases = Object.keys(clusters);
      if (aliases.length === 0) {
        ctx.addIssue({
          code: "custom",
          message: "defines no cluster: add at least one alias with its bootstrapServers",
        });
      }
      for (const alias of aliases) {
        if (ALIAS.test(alias) && alias.length <= MAX_NAME) continue;
        ctx.addIssue({
          code: "custom",
          path: [alias],
          // Reported at the key, not its value: the key is what needs renaming.
          params: { atKey: true },
          message: `cluster alias "${alias}" is not valid: ${ALIAS_RULE} (it becomes a topic prefix, e.g. "us-east")`,
        });
      }
    })
    .transform((clusters) =>
      Object.fromEntries(
        Object.entries(clusters).map(([alias, cluster]) => [
          alias,
          { alias, ...cluster, region: cluster.region ?? alias },
        ]),
      ),
    )
    .describe("alias -> cluster; an alias prefixes the names of remote topics copied from it");
}

// ---------------------------------------------------------------------------------------------
// flows

function pattern() {
  return requiredText().superRefine((text, ctx) => {
    if (text.length > FLOW_LIMITS.maxPatternLength) {
      ctx.addIssue({
        code: "custom",
        message: `is ${text.length} characters long, more than the limit of ${FLOW_LIMITS.maxPatternLength} (maxPatternLength): shorten the pattern`,
      });
      return;
    }
    const problem = regexProblem(text);
    if (problem !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: `invalid regular expression "${text}": ${problem}. Patterns are JavaScript regular expressions matched against the whole topic name; escape special characters with "\\"`,
      });
    }
  });
}

function patterns(whenEmpty?: string) {
  const list = z
    .array(pattern(), {
      error: (issue) =>
        `must be a list ("- item" lines or [a, b]), found ${describeValue(issue.input)}`,
    })
    .max(FLOW_LIMITS.maxPatternsPerList, {
      error: (issue) =>
        `has ${(issue.input as unknown[]).length} patterns, more than the limit of ${FLOW_LIMITS.maxPatternsPerList} (maxPatternsPerList): combine names into patterns ("orders-.*") or split the flow`,
    });
  // One pattern may be given as a plain string; it is never split (commas are regex syntax).
  const single = pattern().transform((one) => [one]);
  return z
    .union([single, whenEmpty === undefined ? list : list.min(1, { error: whenEmpty })])
    .optional();
}

/** A regex include/exclude pair (topics, and consumer groups with their own default excludes). */
function filterSchema(defaultExclude: readonly string[]) {
  return section({
    include: patterns(
      'is empty, so the flow would copy nothing: list patterns, or omit it for ".*"',
    ),
    exclude: patterns(),
  })
    .superRefine((filter, ctx) => {
      const all = [...(filter.include ?? []), ...(filter.exclude ?? [])];
      const chars = all.reduce((sum, one) => sum + one.length, 0);
      if (chars > FLOW_LIMITS.maxFilterChars) {
        ctx.addIssue({
          code: "custom",
          message: `patterns total ${chars} characters, more than the limit of ${FLOW_LIMITS.maxFilterChars} (maxFilterChars): use fewer, broader patterns or split the flow`,
        });
      }
    })
    .transform((filter) => ({
      include: filter.include ?? [".*"],
      exclude: filter.exclude ?? [...defaultExclude],
    }))
    .prefault({});
}

/** One flow, from the file or the coordinator's admin API. */
export function flowSchema(context: SchemaContext) {
  return section(
    {
      name: name(
        FLOW_NAME,
        'use letters, digits, ".", "_", "-" and ">", starting with a letter or digit',
        MAX_NAME,
      )
        .optional()
        .describe('unique; default "<source>-><target>"'),
      source: clusterRef(context).describe("alias of the cluster records are read from"),
      target: clusterRef(context).describe("alias of the cluster records are written to"),
      topics: filterSchema([]).describe("full-name regexes (anchored, like MirrorMaker 2's)"),
      naming: choice(["prefix", "identity"])
        .default("prefix")
        .describe('prefix: "<source>.<topic>" (MirrorMaker 2\'s default); identity: same name'),
      provenanceHeader: flag()
        .optional()
        .describe("mark copies with their origin cluster; default true for identity naming"),
      startFrom: choice(["earliest", "latest"]).default("earliest"),
      onOffsetOutOfRange: choice(["fail", "earliest", "latest"])
        .default("fail")
        .describe("when retention ran past the next offset: fail (default) skips nothing"),
      paused: flag().default(false),
      groups: filterSchema(DEFAULT_GROUP_EXCLUDES).describe(
        "consumer groups whose offsets are checkpointed into the target",
      ),
      syncGroupOffsets: flag()
        .default(true)
        .describe("commit translated offsets into idle target groups"),
    },
    { what: "a flow", empty: "a flow needs source and target" },
  )
    .superRefine((flow, ctx) => {
      if (flow.source === flow.target && typeof flow.source === "string") {
        ctx.addIssue({
          code: "custom",
          path: ["target"],
          message: `is the same cluster as source ("${flow.source}"): a flow copies between two different clusters`,
        });
      }
    })
    .transform(({ provenanceHeader, ...flow }) => ({
      ...flow,
      name: flow.name ?? `${flow.source}->${flow.target}`,
      // Identity naming needs the header to break loops; prefix names already carry provenance.
      provenanceHeader: provenanceHeader ?? flow.naming === "identity",
    }));
}

/** The flows list itself (each flow is checked by flowSchema, the set by flow-checks.ts). */
export const flowListSchema = z
  .array(z.unknown(), {
    error: (issue) =>
      `must be a list ("- item" lines or [a, b]), found ${describeValue(issue.input)}`,
  })
  .max(FLOW_LIMITS.maxFlows, {
    error: (issue) =>
      `has ${(issue.input as unknown[]).length} flows, more than the limit of ${FLOW_LIMITS.maxFlows} (maxFlows): delete unused flows or use broader topic patterns`,
  });

// ---------------------------------------------------------------------------------------------
// flowStore and regionStore: where API-created flows and region states persist

function flowStoreSchema(context: SchemaContext) {
  const first = context.clusters === undefined ? undefined : [...context.clusters.keys()][0];
  return section({
    cluster: clusterRef(context)
      .optional()
      .describe("cluster of the flow history topic; default: the first cluster (name one)"),
    topic: requiredText().default(GEO_TOPICS.flows),
  })
    .transform((store) => ({ ...store, cluster: store.cluster ?? first ?? "" }))
    .prefault({});
}

const regionStoreSchema = section({
  topic: requiredText()
    .default(GEO_TOPICS.regions)
    .describe("compacted topic in both clusters of each flow group"),
}).prefault({});

// ---------------------------------------------------------------------------------------------
// flowGroups: pairs of clusters whose active region the health service moves

/** One flow group, before its pair and active region are resolved (flow-groups.ts). */
export function flowGroupSchema(context: SchemaContext) {
  return section(
    {
      name: requiredText().superRefine((value, ctx) => {
        if (!GROUP_NAME.test(value)) {
          ctx.addIssue({
            code: "custom",
            message: `"${value}" is not valid: use letters, digits, ".", "_" and "-", starting with a letter or digit`,
          });
        }
      }),
      clusters: z
        .array(clusterRef(context))
        .optional()
        .describe("the two cluster aliases, in two regions; optional when flows are named"),
      flows: z.array(flowRef(context)).default([]).describe("default: every flow of the pair"),
      initialActive: optionalText().describe("region (or alias) active until a transition"),
      consumerGroups: z
        .array(
          requiredText().superRefine((group, ctx) => {
            if (!CONSUMER_GROUP.test(group)) {
              ctx.addIssue({
                code: "custom",
                message: `"${group}" is not a valid consumer group id: use letters, digits, ".", "_" and "-"`,
              });
            }
          }),
        )
        .default([]),
      drainTimeoutMs: ms(100, 3_600_000).default(60_000),
      catchUpTimeoutMs: ms(100, 86_400_000).default(600_000),
      failoverAfterProbeFailures: int({ min: 1, max: 1000 }).default(3),
    },
    { what: "a flow group", empty: "a flow group needs a name and its clusters or flows" },
  );
}

// ---------------------------------------------------------------------------------------------
// redis

// Never quotes the URL itself: it may carry a password.
function redisUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL: write redis://host:6379 (or rediss:// for TLS), optionally redis://:password@host:6379/0";
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    return `has scheme "${parsed.protocol}", must be redis: or rediss:`;
  }
  if (parsed.hostname === "") return "has no host: write redis://host:6379";
  if (parsed.pathname !== "" && parsed.pathname !== "/" && !/^\/\d+$/.test(parsed.pathname)) {
    return 'has a path that is not a database number: write e.g. "redis://host:6379/0"';
  }
  return undefined;
}

const sentinelNode = z.union(
  [
    hostPort().transform((address) => parseHostPort(address)),
    section({ host: requiredText(), port: int({ min: 1, max: 65535 }).default(26379) }).superRefine(
      (node, ctx) => {
        const address = node.host.includes(":") ? `[${node.host}]:1` : `${node.host}:1`;
        const problem = hostPort().safeParse(address).error?.issues[0]?.message;
        if (problem !== undefined)
          ctx.addIssue({ code: "custom", path: ["host"], message: problem });
      },
    ),
  ],
  {
    error: (issue) => `must be "host:port" or { host, port }, found ${describeValue(issue.input)}`,
  },
);

function redisSchema(context: SchemaContext) {
  return section({
    url: text({ secret: true })
      .superRefine((url, ctx) => {
        const problem = redisUrlProblem(url);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
      })
      .default("redis://127.0.0.1:6379")
      .describe("redis:// or rediss:// URL of a standalone Redis"),
    keyPrefix: text().default("geo:").describe("prefix of every key, to share one Redis"),
    sentinels: listOrString(sentinelNode, {
      splitCommas: true,
      min: [1, 'is empty: list Sentinel nodes as "host:port" or { host, port }'],
    })
      .optional()
      .describe("Sentinel nodes; then the master named sentinelName is used"),
    sentinelName: optionalText(),
    password: optionalText({ secret: true }).describe("overrides a password in url"),
    sentinelPassword: optionalText({ secret: true }),
    tls: tlsSchema(context).optional(),
  })
    .superRefine((redis, ctx) => {
      if (redis.sentinels !== undefined && redis.sentinelName === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["sentinelName"],
          message: "is required with sentinels: the name of the monitored master",
        });
      }
      if (redis.sentinels === undefined && redis.sentinelName !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["sentinels"],
          message: "is missing: sentinelName is only used together with a sentinels list",
        });
      }
    })
    .prefault({});
}

// ---------------------------------------------------------------------------------------------
// services: where each service listens and is reached

// Prometheus metrics sit one port above the service's gRPC port on the same host unless
// configured; port 0 (for either) is allowed so tests and demos can run several copies on a host.
function metricsNextTo(listen: string): string {
  const { host, port } = parseHostPort(listen, { allowPortZero: true });
  const bracketed = host.includes(":") ? `[${host}]` : host;
  return `${bracketed}:${port === 0 ? 0 : port + 1}`;
}

// A wildcard bind address is not something a client can dial; assume a local set-up.
function reachable(listen: string): string {
  const { host, port } = parseHostPort(listen);
  if (host === "0.0.0.0") return `127.0.0.1:${port}`;
  if (host === "::") return `[::1]:${port}`;
  return listen;
}

function endpointSchema(service: "coordinator" | "offsets" | "health") {
  return section({
    listen: hostPort().default(`0.0.0.0:${DEFAULT_PORTS[service]}`).describe("address bound"),
    address: hostPort().optional().describe("address other components dial"),
    metricsListen: hostPort({ allowPortZero: true })
      .optional()
      .describe("Prometheus /metrics; default: the gRPC port + 1"),
  })
    .transform((endpoint) => ({
      listen: endpoint.listen,
      address: endpoint.address ?? reachable(endpoint.listen),
      metricsListen: endpoint.metricsListen ?? metricsNextTo(endpoint.listen),
    }))
    .prefault({});
}

function agentSchema(context: SchemaContext) {
  return section({
    // Port 0 lets several agents share a host in demos; agents register their real address.
    listen: hostPort({ allowPortZero: true }).default(`0.0.0.0:${DEFAULT_PORTS.agent}`),
    metricsListen: hostPort({ allowPortZero: true }).optional(),
    region: regionRef(context).describe("the region this agent serves (GEO_AGENT_REGION)"),
    id: name(AGENT_ID, 'use letters, digits, ".", "_" and "-"', MAX_NAME)
      .optional()
      .describe("stable agent identity (GEO_AGENT_ID); default: host name and pid"),
  })
    .transform((agent) => ({
      ...agent,
      metricsListen: agent.metricsListen ?? metricsNextTo(agent.listen),
    }))
    .prefault({});
}

function servicesSchema(context: SchemaContext) {
  return section({
    coordinator: endpointSchema("coordinator"),
    offsets: endpointSchema("offsets"),
    health: endpointSchema("health"),
    agent: agentSchema(context),
  }).prefault({});
}

// ---------------------------------------------------------------------------------------------
// leases: how long an agent owns a replication unit

const leasesSchema = section({
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

// ---------------------------------------------------------------------------------------------
// discovery, monitoring, logging, telemetry

const discoverySchema = section({
  intervalMs: ms(100, 3_600_000).default(2000).describe("how often source topics are listed"),
}).prefault({});

const monitoringSchema = section({
  probeIntervalMs: ms(100, 60_000).default(2000),
  heartbeatIntervalMs: ms(100, 60_000).default(1000),
  lagSeries: choice(["partition", "topic"])
    .default("partition")
    .describe("topic sums partitions, for fleets with very many partitions"),
}).prefault({});

const loggingSchema = section({
  level: choice(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
}).prefault({});

const DEFAULT_OTLP_ENDPOINT = "http://127.0.0.1:4317";

const telemetrySchema = section({
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

// ---------------------------------------------------------------------------------------------
// grpc: limits, TLS and callers of every gRPC server (see SECURITY.md)

const ROLES = ["viewer", "operator", "admin", "agent", "service"] as const;

function grpcTlsSchema(context: SchemaContext) {
  return section({
    certFile: requiredFilePath(context).describe("PEM chain this process presents"),
    keyFile: requiredFilePath(context),
    caFile: filePath(context).describe("PEM CA bundle that signed the peers' certificates"),
    requireClientCert: flag().optional().describe("default: true when caFile is set"),
    reloadIntervalMs: ms(100, 86_400_000).default(60_000),
    serverName: optionalText().describe("name clients verify instead of the address's host"),
  })
    .superRefine((tls, ctx) => {
      if (tls.requireClientCert === true && tls.caFile === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["caFile"],
          message:
            "is required with requireClientCert: true (client certificates are checked against it)",
        });
      }
    })
    .transform((tls) => ({
      ...tls,
      requireClientCert: tls.requireClientCert ?? tls.caFile !== undefined,
    }));
}

const principalSchema = section(
  {
    name: requiredText().describe("recorded in the flow history and logs"),
    certificate: optionalText().describe("matched against the client certificate's CN and SANs"),
    token: optionalText({ secret: true }).superRefine((token, ctx) => {
      if (token !== undefined && token.length < 16) {
        ctx.addIssue({
          code: "custom",
          message: "is shorter than 16 characters: use a long random token",
        });
      }
    }),
    roles: z
      .array(
        z.enum(ROLES, {
          error: (issue) =>
            `unknown role ${JSON.stringify(issue.input)}; roles: ${ROLES.join(", ")}`,
        }),
        {
          error: unlessMissing((input) => `must be a list of roles, found ${describeValue(input)}`),
        },
      )
      .min(1, { error: "is required: give at least one role" }),
    region: optionalText(),
    agentId: optionalText(),
  },
  { what: "a principal" },
).superRefine((principal, ctx) => {
  if (principal.certificate === undefined && principal.token === undefined) {
    ctx.addIssue({
      code: "custom",
      message: "needs a certificate (subject CN or SAN) or a token to be recognised",
    });
  }
});

const authSchema = section({
  principals: z.array(principalSchema).default([]),
}).superRefine((auth, ctx) => {
  const seen = new Set<string>();
  auth.principals.forEach((principal, index) => {
    if (seen.has(principal.name)) {
      ctx.addIssue({
        code: "custom",
        path: ["principals", index, "name"],
        message: `duplicate principal name "${principal.name}"`,
      });
    }
    seen.add(principal.name);
  });
});

function grpcSchema(context: SchemaContext) {
  return section({
    defaultDeadlineMs: ms(1, 3_600_000).default(10_000).describe("when the caller gives none"),
    maxMessageBytes: int({ min: 1024, max: 64 * 1024 * 1024 }).default(4 * 1024 * 1024),
    maxCallMs: ms(1, 3_600_000).default(300_000).describe("longest a unary call may run"),
    tls: grpcTlsSchema(context).optional().describe("absent: plaintext (warned)"),
    auth: authSchema.optional().describe("absent: every caller may call everything (warned)"),
    clientToken: optionalText({ secret: true }).describe(
      "bearer token this process's clients send",
    ),
  }).prefault({});
}

// ---------------------------------------------------------------------------------------------
// the file

/** Every top-level section, in the file's order. */
export function configSections(context: SchemaContext = {}) {
  return {
    clusters: clustersSchema(context),
    flows: z.array(flowSchema(context)).max(FLOW_LIMITS.maxFlows).default([]),
    flowStore: flowStoreSchema(context),
    flowGroups: z.array(flowGroupSchema(context)).default([]),
    regionStore: regionStoreSchema,
    redis: redisSchema(context),
    services: servicesSchema(context),
    leases: leasesSchema,
    discovery: discoverySchema,
    monitoring: monitoringSchema,
    logging: loggingSchema,
    telemetry: telemetrySchema,
    grpc: grpcSchema(context),
  };
}

/** The whole file (for the JSON Schema and the types; parseConfig checks it section by section). */
export function configSchema(context: SchemaContext = {}) {
  return section(configSections(context), { what: "the file" });
}
