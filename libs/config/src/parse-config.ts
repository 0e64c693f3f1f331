import { isAbsolute, resolve } from "node:path";
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
} from "yaml";
import { ConfigError, type ConfigIssue } from "./config-error";
import { didYouMean } from "./did-you-mean";
import { filterOverlap } from "./filter-overlap";
import { buildFlowGroups, buildRegionStore } from "./flow-groups";
import type {
  AgentServiceConfig,
  ClusterConfig,
  FlowConfig,
  FlowStoreConfig,
  GeoConfig,
  HostPortConfig,
  LeasesConfig,
  LogLevel,
  MonitoringConfig,
  RedisConfig,
  SaslConfig,
  ServiceEndpointConfig,
  TelemetryConfig,
  TlsConfig,
} from "./geo-config";
import { buildGrpc } from "./grpc-security";
import { hostPortProblem, parseHostPort } from "./host-port";
import { type Env, interpolateEnv } from "./interpolate-env";
import { FLOW_LIMITS } from "./limits";
import { anchored, GEO_TOPICS } from "./topic-names";

export interface ParseConfigOptions {
  /** Variables for `${VAR}` interpolation and the GEO_* overrides. Default: process.env. */
  env?: Env;
  /** Name of the input in error messages, usually the file path. Default: "<config>". */
  source?: string;
  /** Folder relative TLS file paths are resolved against. Default: left relative. */
  baseDir?: string;
}

/**
 * Environment variables that override one field each, after `${VAR}` interpolation, so they win
 * over whatever the file says. Empty values count as unset (compose files often pass "").
 */
export const ENV_OVERRIDES = Object.freeze({
  GEO_LOG_LEVEL: "logging.level",
  GEO_REDIS_URL: "redis.url",
  GEO_OTLP_ENDPOINT: "telemetry.otlpEndpoint",
  GEO_AGENT_REGION: "services.agent.region",
  GEO_AGENT_ID: "services.agent.id",
});

export const DEFAULT_PORTS = Object.freeze({
  coordinator: 7100,
  offsets: 7200,
  health: 7300,
  agent: 7400,
});

const ALIAS = /^[a-z][a-z0-9-]*$/;
const FLOW_NAME = /^[A-Za-z0-9][A-Za-z0-9._>-]*$/;
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const LOG_LEVELS: readonly LogLevel[] = [
  "fatal",
  "error",
  "warn",
  "info",
  "debug",
  "trace",
  "silent",
];
const MAX_NAME = FLOW_LIMITS.maxNameLength;

export type Seg = string | number;
type Obj = Record<string, unknown>;

/**
 * Parses and validates the YAML configuration of the whole system. Returns a deep-frozen,
 * fully defaulted GeoConfig, or throws a ConfigError listing every problem found.
 */
export function parseConfig(text: string, options: ParseConfigOptions = {}): GeoConfig {
  const env = options.env ?? process.env;
  const source = options.source ?? "<config>";
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((error) => {
        const pos = lineCounter.linePos(error.pos[0]);
        return {
          path: "",
          message: `the file is not valid YAML: ${yamlReason(error.message)}`,
          line: pos.line,
          column: pos.col,
        };
      }),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError(source, [
      {
        path: "",
        message: `the file cannot be read as data: ${yamlReason(String((error as Error).message))}`,
      },
    ]);
  }

  const locate = (path: readonly Seg[], keyOnly: boolean) => {
    const offset = findOffset(doc.contents, path, keyOnly, doc);
    if (offset === undefined) return undefined;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const check = new Checker(locate);
  if (raw === null || raw === undefined) raw = {};
  const root = check.record(interpolateTree(raw, [], env, check), [], "the file");
  if (root === undefined) throw new ConfigError(source, check.issues);
  applyOverrides(root, env, check);

  const config = buildConfig(root, check, options.baseDir, source);
  if (check.issues.length > 0 || config === undefined)
    throw new ConfigError(source, inFileOrder(check.issues));
  return deepFreeze(config);
}

/**
 * Validates flows that do not come from the file (the coordinator's admin API) with the same
 * rules: known clusters, source != target, regexes, duplicate names, colliding targets, identity
 * loops. Pass every flow that will be active together (the file's and the API's), so the
 * cross-flow checks see them all. Returns them defaulted and frozen, or throws a ConfigError
 * whose issue paths are "flows[i]..." indexes into `flows`.
 */
export function validateFlows(
  flows: readonly unknown[],
  clusters: Readonly<Record<string, ClusterConfig>>,
  options: { source?: string; env?: Env } = {},
): readonly FlowConfig[] {
  const check = new Checker(() => undefined);
  const interpolated = interpolateTree([...flows], ["flows"], options.env ?? {}, check);
  const result = buildFlows(interpolated, { ...clusters }, check);
  if (check.issues.length > 0) throw new ConfigError(options.source ?? "flows", check.issues);
  return deepFreeze(result);
}

// Issues located in the file come in reading order; those from the environment come last.
function inFileOrder(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const key = (issue: ConfigIssue) =>
    issue.line === undefined ? Number.MAX_SAFE_INTEGER : issue.line * 10_000 + (issue.column ?? 0);
  return [...issues].sort((a, b) => key(a) - key(b));
}

// yaml's messages end with " at line L, column C:" and a source excerpt. The excerpt can show a
// secret, and line/column are reported separately, so only the reason is kept.
function yamlReason(message: string): string {
  const firstLine = message.split("\n", 1)[0] ?? message;
  return firstLine.replace(/ at line \d+, column \d+:?\s*$/, "");
}

export class Checker {
  readonly issues: ConfigIssue[] = [];
  /** Dotted paths whose value came from a GEO_* override, with the variable's name. */
  readonly overridden = new Map<string, string>();
  /** Dotted paths whose ${VAR} failed; already reported, so "missing" is not said twice. */
  readonly unresolved = new Set<string>();

  constructor(
    private readonly locate: (
      path: readonly Seg[],
      keyOnly: boolean,
    ) => { line: number; column: number } | undefined,
  ) {}

  issue(path: readonly Seg[], message: string, keyOnly = false): void {
    const dotted = formatPath(path);
    if (this.unresolved.has(dotted)) return;
    const variable = this.overridden.get(dotted);
    if (variable !== undefined) {
      this.issues.push({ path: dotted, message: `${message} (value set by ${variable})` });
      return;
    }
    const pos = this.locate(path, keyOnly);
    this.issues.push({ path: dotted, message, ...(pos ?? {}) });
  }

  /** A mapping, or undefined (with an issue unless the value is absent). */
  record(value: unknown, path: readonly Seg[], what: string): Obj | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "object" || Array.isArray(value)) {
      this.issue(path, `${what} must be a mapping of "key: value" lines, found ${describe(value)}`);
      return undefined;
    }
    return value as Obj;
  }

  keys(obj: Obj, path: readonly Seg[], allowed: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (allowed.includes(key)) continue;
      this.issue(
        [...path, key],
        `unknown key "${key}"${didYouMean(key, allowed)}; allowed here: ${allowed.join(", ")}`,
        true,
      );
    }
  }

  string(
    value: unknown,
    path: readonly Seg[],
    opts: { secret?: boolean; required?: boolean } = {},
  ): string | undefined {
    if (value === undefined || value === null) {
      if (opts.required) this.issue(path, "is required and missing: add it");
      return undefined;
    }
    // YAML reads `password: 123456` or `region: 1` as numbers; the author meant the text.
    if (typeof value === "number") return String(value);
    if (typeof value !== "string") {
      this.issue(path, `must be a string, found ${opts.secret ? "another type" : describe(value)}`);
      return undefined;
    }
    if (value === "") {
      if (opts.required) this.issue(path, "must not be empty");
      return opts.required ? undefined : value;
    }
    return value;
  }

  pattern(
    value: unknown,
    path: readonly Seg[],
    re: RegExp,
    rule: string,
    required = false,
  ): string | undefined {
    const text = this.string(value, path, { required });
    if (text === undefined) return undefined;
    if (text.length > MAX_NAME) {
      this.issue(
        path,
        `is ${text.length} characters long, more than the limit of ${MAX_NAME} (maxNameLength)`,
      );
      return undefined;
    }
    if (!re.test(text)) {
      this.issue(path, `"${text}" is not valid: ${rule}`);
      return undefined;
    }
    return text;
  }

  int(
    value: unknown,
    path: readonly Seg[],
    fallback: number,
    range: { min: number; max: number; unit?: string },
  ): number {
    if (value === undefined || value === null) return fallback;
    let number: number | undefined;
    if (typeof value === "number") number = value;
    // Interpolated values arrive as strings: `ttlMs: ${LEASE_TTL_MS:-10000}`.
    else if (typeof value === "string" && /^\s*-?\d+\s*$/.test(value)) number = Number(value);
    if (number === undefined || !Number.isInteger(number)) {
      this.issue(
        path,
        `must be a whole number${range.unit ? ` of ${range.unit}` : ""}, found ${describe(value)}`,
      );
      return fallback;
    }
    if (number < range.min || number > range.max) {
      this.issue(
        path,
        `is ${number}, must be between ${range.min} and ${range.max}${range.unit ? ` ${range.unit}` : ""}`,
      );
      return fallback;
    }
    return number;
  }

  bool(value: unknown, path: readonly Seg[], fallback: boolean): boolean {
    if (value === undefined || value === null) return fallback;
    if (typeof value === "boolean") return value;
    if (value === "true" || value === "false") return value === "true";
    this.issue(path, `must be true or false, found ${describe(value)}`);
    return fallback;
  }

  oneOf<T extends string>(
    value: unknown,
    path: readonly Seg[],
    allowed: readonly T[],
    fallback: T,
  ): T {
    if (value === undefined || value === null) return fallback;
    if (typeof value === "string") {
      const lower = value.toLowerCase();
      const match = allowed.find((candidate) => candidate === lower);
      if (match !== undefined) return match;
    }
    const shown = typeof value === "string" ? `"${value}"` : describe(value);
    this.issue(
      path,
      `is ${shown}, must be one of ${allowed.join(", ")}${typeof value === "string" ? didYouMean(value, allowed) : ""}`,
    );
    return fallback;
  }

  list(value: unknown, path: readonly Seg[]): unknown[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) {
      this.issue(path, `must be a list ("- item" lines or [a, b]), found ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  hostPort(value: unknown, path: readonly Seg[], allowPortZero = false): string | undefined {
    const text = this.string(value, path);
    if (text === undefined) return undefined;
    const problem = hostPortProblem(text.trim(), { allowPortZero });
    if (problem !== undefined) {
      this.issue(path, problem);
      return undefined;
    }
    return text.trim();
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `"${value}"`;
  return `${typeof value} ${String(value)}`;
}

/** "flows[1].topics.include[0]", 'clusters["Bad Alias"]'. */
export function formatPath(path: readonly Seg[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

// Offset in the text of the node at `path`, or of its deepest existing ancestor.
function findOffset(
  start: unknown,
  path: readonly Seg[],
  keyOnly: boolean,
  doc: { contents: unknown },
): number | undefined {
  let node: unknown = start;
  let best: number | undefined = rangeStart(node);
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc as never);
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (item) =>
          isPair(item) && String(isScalar(item.key) ? item.key.value : item.key) === String(seg),
      );
      if (pair === undefined) return best;
      if (last && keyOnly) return rangeStart(pair.key) ?? best;
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof seg === "number") {
      node = node.items[seg];
      if (node === undefined) return best;
    } else {
      return best;
    }
    best = rangeStart(node) ?? best;
  }
  return best;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | undefined)?.range;
  return Array.isArray(range) ? range[0] : undefined;
}

// Expands ${VAR} in every string value (never in keys), reporting each failure at its path.
function interpolateTree(value: unknown, path: Seg[], env: Env, check: Checker): unknown {
  if (typeof value === "string") {
    const result = interpolateEnv(value, env);
    if (!result.ok) {
      check.issue(path, `the value ${result.problem}`);
      check.unresolved.add(formatPath(path));
      return undefined;
    }
    return result.value;
  }
  if (Array.isArray(value))
    return value.map((item, index) => interpolateTree(item, [...path, index], env, check));
  if (value !== null && typeof value === "object") {
    const out: Obj = {};
    for (const [key, item] of Object.entries(value as Obj)) {
      out[key] = interpolateTree(item, [...path, key], env, check);
    }
    return out;
  }
  return value;
}

function applyOverrides(root: Obj, env: Env, check: Checker): void {
  for (const [variable, dotted] of Object.entries(ENV_OVERRIDES)) {
    const value = env[variable];
    if (value === undefined || value === "") continue;
    const segments = dotted.split(".");
    let node: Obj = root;
    for (const seg of segments.slice(0, -1)) {
      const next = node[seg];
      if (next === undefined || next === null || typeof next !== "object" || Array.isArray(next)) {
        // A wrong type in the file is still reported by validation; the override replaces it.
        node[seg] = {};
      }
      node = node[seg] as Obj;
    }
    node[segments[segments.length - 1]!] = value;
    check.overridden.set(dotted, variable);
  }
}

function buildConfig(
  root: Obj,
  check: Checker,
  baseDir: string | undefined,
  source: string,
): GeoConfig | undefined {
  check.keys(
    root,
    [],
    [
      "clusters",
      "flows",
      "flowStore",
      "flowGroups",
      "regionStore",
      "redis",
      "services",
      "leases",
      "discovery",
      "monitoring",
      "logging",
      "telemetry",
      "grpc",
    ],
  );
  const clusters = buildClusters(root.clusters, check, baseDir);
  const flows = buildFlows(root.flows, clusters, check);
  const flowStore = buildFlowStore(root.flowStore, clusters, check);
  const flowGroups = buildFlowGroups(root.flowGroups, clusters, flows, check);
  const regionStore = buildRegionStore(root.regionStore, check);
  const redis = buildRedis(root.redis, check, baseDir);
  const services = buildServices(root.services, clusters, check);
  const leases = buildLeases(root.leases, check);

  const discoveryRaw = check.record(root.discovery, ["discovery"], "discovery") ?? {};
  check.keys(discoveryRaw, ["discovery"], ["intervalMs"]);
  const discovery = {
    intervalMs: check.int(discoveryRaw.intervalMs, ["discovery", "intervalMs"], 2000, {
      min: 100,
      max: 3_600_000,
      unit: "ms",
    }),
  };

  const monitoring = buildMonitoring(root.monitoring, check);

  const loggingRaw = check.record(root.logging, ["logging"], "logging") ?? {};
  check.keys(loggingRaw, ["logging"], ["level"]);
  const logging = {
    level: check.oneOf(loggingRaw.level, ["logging", "level"], LOG_LEVELS, "info"),
  };

  const telemetry = buildTelemetry(root.telemetry, check);

  const grpc = buildGrpc(root.grpc, check, baseDir);

  if (clusters === undefined || flowStore === undefined) return undefined;
  return {
    source,
    clusters,
    flows,
    flowStore,
    flowGroups,
    regionStore,
    redis,
    services,
    leases,
    discovery,
    monitoring,
    logging,
    telemetry,
    grpc,
  };
}

/** What the health service watches and how often (see services/health/README.md). */
function buildMonitoring(value: unknown, check: Checker): MonitoringConfig {
  const path = ["monitoring"];
  const raw = check.record(value, path, "monitoring") ?? {};
  check.keys(raw, path, [
    "probeIntervalMs",
    "heartbeatIntervalMs",
    "lagSeries",
    "foreignWriteGraceMs",
    "keyConflictWindowMs",
    "keyConflictMaxKeys",
  ]);
  return {
    probeIntervalMs: check.int(raw.probeIntervalMs, [...path, "probeIntervalMs"], 2000, {
      min: 100,
      max: 60_000,
      unit: "ms",
    }),
    heartbeatIntervalMs: check.int(
      raw.heartbeatIntervalMs,
      [...path, "heartbeatIntervalMs"],
      1000,
      {
        min: 100,
        max: 60_000,
        unit: "ms",
      },
    ),
    lagSeries: check.oneOf(
      raw.lagSeries,
      [...path, "lagSeries"],
      ["partition", "topic"],
      "partition",
    ),
    foreignWriteGraceMs: check.int(
      raw.foreignWriteGraceMs,
      [...path, "foreignWriteGraceMs"],
      10_000,
      {
        min: 1000,
        max: 3_600_000,
        unit: "ms",
      },
    ),
    keyConflictWindowMs: check.int(raw.keyConflictWindowMs, [...path, "keyConflictWindowMs"], 0, {
      min: 0,
      max: 86_400_000,
      unit: "ms",
    }),
    keyConflictMaxKeys: check.int(
      raw.keyConflictMaxKeys,
      [...path, "keyConflictMaxKeys"],
      100_000,
      {
        min: 100,
        max: 10_000_000,
      },
    ),
  };
}

function buildFlowStore(
  value: unknown,
  clusters: Record<string, ClusterConfig> | undefined,
  check: Checker,
): FlowStoreConfig | undefined {
  const path = ["flowStore"];
  const raw = check.record(value, path, "flowStore") ?? {};
  check.keys(raw, path, ["cluster", "topic"]);
  const aliases = Object.keys(clusters ?? {});
  const cluster = check.string(raw.cluster, [...path, "cluster"]) ?? aliases[0];
  if (cluster !== undefined && clusters !== undefined && clusters[cluster] === undefined) {
    const known = [...aliases].sort();
    check.issue(
      [...path, "cluster"],
      `unknown cluster "${cluster}"${didYouMean(cluster, known)}; known clusters: ${known.join(", ")}`,
    );
  }
  const topic = check.string(raw.topic, [...path, "topic"]) ?? GEO_TOPICS.flows;
  if (topic === "") check.issue([...path, "topic"], "must not be empty");
  return cluster === undefined ? undefined : { cluster, topic };
}

function buildClusters(
  value: unknown,
  check: Checker,
  baseDir: string | undefined,
): Record<string, ClusterConfig> | undefined {
  if (value === undefined || value === null) {
    check.issue(
      ["clusters"],
      'is required: add a "clusters:" mapping from alias to { bootstrapServers: [...] }',
    );
    return undefined;
  }
  const raw = check.record(value, ["clusters"], "clusters");
  if (raw === undefined) return undefined;
  const aliases = Object.keys(raw);
  if (aliases.length === 0) {
    check.issue(
      ["clusters"],
      "defines no cluster: add at least one alias with its bootstrapServers",
    );
  }
  const out: Record<string, ClusterConfig> = {};
  for (const alias of aliases) {
    const path = ["clusters", alias];
    if (!ALIAS.test(alias) || alias.length > MAX_NAME) {
      check.issue(
        path,
        `cluster alias "${alias}" is not valid: use lowercase letters, digits and "-", starting with a letter (it becomes a topic prefix, e.g. "us-east")`,
        true,
      );
    }
    const cluster = check.record(raw[alias], path, `cluster "${alias}"`);
    if (cluster === undefined) {
      if (raw[alias] === null || raw[alias] === undefined) {
        check.issue(path, `cluster "${alias}" is empty: give it bootstrapServers`);
      }
      continue;
    }
    check.keys(cluster, path, ["region", "bootstrapServers", "tls", "sasl"]);
    const region =
      check.pattern(
        cluster.region,
        [...path, "region"],
        ALIAS,
        'use lowercase letters, digits and "-", starting with a letter',
      ) ?? alias;
    const bootstrapServers = buildBootstrap(
      cluster.bootstrapServers,
      [...path, "bootstrapServers"],
      check,
    );
    const tls = buildTls(cluster.tls, [...path, "tls"], check, baseDir);
    const sasl = buildSasl(cluster.sasl, [...path, "sasl"], check);
    out[alias] = {
      alias,
      region,
      bootstrapServers,
      ...(tls === undefined ? {} : { tls }),
      ...(sasl === undefined ? {} : { sasl }),
    };
  }
  return out;
}

function buildBootstrap(value: unknown, path: Seg[], check: Checker): string[] {
  if (value === undefined || value === null) {
    check.issue(path, 'is required: list the brokers as "host:port", e.g. ["kafka-1:9092"]');
    return [];
  }
  // A single string, typically from ${VAR}, may hold a comma-separated list like Kafka's own.
  const items =
    typeof value === "string" ? value.split(",").map((s) => s.trim()) : check.list(value, path);
  if (items === undefined) return [];
  if (items.length === 0) check.issue(path, 'is empty: list at least one broker as "host:port"');
  const out: string[] = [];
  items.forEach((item, index) => {
    const itemPath = typeof value === "string" ? path : [...path, index];
    const hostPort = check.hostPort(item, itemPath);
    if (hostPort !== undefined) out.push(hostPort);
  });
  return out;
}

function buildTls(
  value: unknown,
  path: Seg[],
  check: Checker,
  baseDir: string | undefined,
): TlsConfig | undefined {
  if (value === undefined || value === null) return undefined;
  // "tls: true" is shorthand for a TLS connection verified against the system CAs.
  if (typeof value === "boolean" || value === "true" || value === "false") {
    return { enabled: value === true || value === "true", rejectUnauthorized: true };
  }
  const raw = check.record(value, path, "tls");
  if (raw === undefined) return undefined;
  check.keys(raw, path, ["enabled", "caFile", "certFile", "keyFile", "rejectUnauthorized"]);
  const file = (key: string) => {
    const text = check.string(raw[key], [...path, key]);
    if (text === undefined || text === "") return undefined;
    return baseDir !== undefined && !isAbsolute(text) ? resolve(baseDir, text) : text;
  };
  const caFile = file("caFile");
  const certFile = file("certFile");
  const keyFile = file("keyFile");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const missing = certFile === undefined ? "certFile" : "keyFile";
    check.issue(
      [...path, missing],
      "is missing: a client certificate needs both certFile and keyFile",
    );
  }
  return {
    // A tls section without "enabled" means the author wants TLS.
    enabled: check.bool(raw.enabled, [...path, "enabled"], true),
    ...(caFile === undefined ? {} : { caFile }),
    ...(certFile === undefined ? {} : { certFile }),
    ...(keyFile === undefined ? {} : { keyFile }),
    rejectUnauthorized: check.bool(raw.rejectUnauthorized, [...path, "rejectUnauthorized"], true),
  };
}

function buildSasl(value: unknown, path: Seg[], check: Checker): SaslConfig | undefined {
  const raw = check.record(value, path, "sasl");
  if (raw === undefined) return undefined;
  check.keys(raw, path, ["mechanism", "username", "password"]);
  if (raw.mechanism === undefined || raw.mechanism === null) {
    check.issue([...path, "mechanism"], "is required: plain, scram-sha-256 or scram-sha-512");
  }
  const mechanism = check.oneOf(
    raw.mechanism,
    [...path, "mechanism"],
    ["plain", "scram-sha-256", "scram-sha-512"] as const,
    "plain",
  );
  const username = check.string(raw.username, [...path, "username"], { required: true });
  const password = check.string(raw.password, [...path, "password"], {
    required: true,
    secret: true,
  });
  if (username === undefined || password === undefined) return undefined;
  return { mechanism, username, password };
}

function buildFlows(
  value: unknown,
  clusters: Record<string, ClusterConfig> | undefined,
  check: Checker,
): FlowConfig[] {
  const items = check.list(value, ["flows"]) ?? [];
  if (items.length > FLOW_LIMITS.maxFlows) {
    check.issue(
      ["flows"],
      `has ${items.length} flows, more than the limit of ${FLOW_LIMITS.maxFlows} (maxFlows): delete unused flows or use broader topic patterns`,
    );
    return [];
  }
  const aliases = clusters === undefined ? undefined : Object.keys(clusters).sort();
  const flows: { flow: FlowConfig; index: number }[] = [];
  items.forEach((item, index) => {
    const path: Seg[] = ["flows", index];
    const raw = check.record(item, path, "a flow");
    if (raw === undefined) {
      if (item === null || item === undefined)
        check.issue(path, "is empty: a flow needs source and target");
      return;
    }
    check.keys(raw, path, [
      "name",
      "source",
      "target",
      "topics",
      "naming",
      "provenanceHeader",
      "startFrom",
      "onOffsetOutOfRange",
      "paused",
      "groups",
      "syncGroupOffsets",
    ]);
    const endpoint = (key: "source" | "target") => {
      const alias = check.string(raw[key], [...path, key], { required: true });
      if (alias === undefined || aliases === undefined) return alias;
      if (!aliases.includes(alias)) {
        check.issue(
          [...path, key],
          `unknown cluster "${alias}"${didYouMean(alias, aliases)}; known clusters: ${aliases.join(", ")}`,
        );
        return undefined;
      }
      return alias;
    };
    const source = endpoint("source");
    const target = endpoint("target");
    if (source !== undefined && source === target) {
      check.issue(
        [...path, "target"],
        `is the same cluster as source ("${source}"): a flow copies between two different clusters`,
      );
    }
    const name =
      raw.name === undefined || raw.name === null
        ? `${source ?? "?"}->${target ?? "?"}`
        : check.pattern(
            raw.name,
            [...path, "name"],
            FLOW_NAME,
            'use letters, digits, ".", "_", "-" and ">", starting with a letter or digit',
          );
    const topics = buildTopics(raw.topics, [...path, "topics"], check);
    const naming = check.oneOf(
      raw.naming,
      [...path, "naming"],
      ["prefix", "identity"] as const,
      "prefix",
    );
    const flow: FlowConfig = {
      name: name ?? "",
      source: source ?? "",
      target: target ?? "",
      topics,
      naming,
      provenanceHeader: check.bool(
        raw.provenanceHeader,
        [...path, "provenanceHeader"],
        naming === "identity",
      ),
      startFrom: check.oneOf(
        raw.startFrom,
        [...path, "startFrom"],
        ["earliest", "latest"] as const,
        "earliest",
      ),
      onOffsetOutOfRange: check.oneOf(
        raw.onOffsetOutOfRange,
        [...path, "onOffsetOutOfRange"],
        ["fail", "earliest", "latest"] as const,
        "fail",
      ),
      paused: check.bool(raw.paused, [...path, "paused"], false),
      groups: buildTopics(raw.groups, [...path, "groups"], check, DEFAULT_GROUP_EXCLUDES),
      syncGroupOffsets: check.bool(raw.syncGroupOffsets, [...path, "syncGroupOffsets"], true),
    };
    if (name !== undefined && source !== undefined && target !== undefined)
      flows.push({ flow, index });
  });
  checkFlowSet(flows, check);
  return flows.map(({ flow }) => flow);
}

/** MirrorMaker 2's default `groups.exclude`: console consumers, Connect workers, internal groups. */
export const DEFAULT_GROUP_EXCLUDES: readonly string[] = Object.freeze([
  "console-consumer-.*",
  "connect-.*",
  "__.*",
]);

/** A regex include/exclude pair (topics, and consumer groups with their own default excludes). */
function buildTopics(
  value: unknown,
  path: Seg[],
  check: Checker,
  defaultExclude: readonly string[] = [],
): FlowConfig["topics"] {
  const raw = check.record(value, path, String(path[path.length - 1])) ?? {};
  check.keys(raw, path, ["include", "exclude"]);
  const patterns = (key: "include" | "exclude", fallback: string[]) => {
    const listPath = [...path, key];
    const given = raw[key];
    if (given === undefined || given === null) return fallback;
    // One pattern may be given as a plain string; it is never split (commas are regex syntax).
    const items = typeof given === "string" ? [given] : check.list(given, listPath);
    if (items === undefined) return fallback;
    if (items.length > FLOW_LIMITS.maxPatternsPerList) {
      check.issue(
        listPath,
        `has ${items.length} patterns, more than the limit of ${FLOW_LIMITS.maxPatternsPerList} (maxPatternsPerList): combine names into patterns ("orders-.*") or split the flow`,
      );
      return [];
    }
    const out: string[] = [];
    items.forEach((item, index) => {
      const itemPath = typeof given === "string" ? listPath : [...listPath, index];
      const text = check.string(item, itemPath, { required: true });
      if (text === undefined) return;
      if (text.length > FLOW_LIMITS.maxPatternLength) {
        check.issue(
          itemPath,
          `is ${text.length} characters long, more than the limit of ${FLOW_LIMITS.maxPatternLength} (maxPatternLength): shorten the pattern`,
        );
        return;
      }
      const problem = regexProblem(text);
      if (problem !== undefined) {
        check.issue(
          itemPath,
          `invalid regular expression "${text}": ${problem}. Patterns are JavaScript regular expressions matched against the whole topic name; escape special characters with "\\"`,
        );
        return;
      }
      out.push(text);
    });
    if (key === "include" && out.length === 0 && items.length === 0) {
      check.issue(
        listPath,
        'is empty, so the flow would copy nothing: list patterns, or omit it for ".*"',
      );
    }
    return out;
  };
  const include = patterns("include", [".*"]);
  const exclude = patterns("exclude", [...defaultExclude]);
  const chars = [...include, ...exclude].reduce((sum, pattern) => sum + pattern.length, 0);
  if (chars > FLOW_LIMITS.maxFilterChars) {
    check.issue(
      path,
      `patterns total ${chars} characters, more than the limit of ${FLOW_LIMITS.maxFilterChars} (maxFilterChars): use fewer, broader patterns or split the flow`,
    );
  }
  return { include, exclude };
}

function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    anchored(pattern);
  } catch (error) {
    return (error as Error).message;
  }
  if (hasNestedQuantifier(pattern)) {
    return "a repeated group contains a repetition itself (like (a+)+), which can take exponential time on some topic names; write it without the nesting";
  }
  return undefined;
}

/**
 * Whether an unbounded quantifier (*, +, {n,}) applies to a group that itself contains one: the
 * shape of patterns whose backtracking is exponential. Character classes and escapes are skipped.
 */
export function hasNestedQuantifier(pattern: string): boolean {
  const groups: boolean[] = [];
  let inClass = false;
  const unboundedAt = (i: number) =>
    pattern[i] === "*" || pattern[i] === "+" || /^\{\d+,\}/.test(pattern.slice(i));
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") inClass = true;
    else if (c === "(") groups.push(false);
    else if (c === ")") {
      const innerRepeats = groups.pop() ?? false;
      if (innerRepeats && unboundedAt(i + 1)) return true;
      if (groups.length > 0 && (innerRepeats || unboundedAt(i + 1)))
        groups[groups.length - 1] = true;
    } else if (unboundedAt(i) && groups.length > 0) {
      groups[groups.length - 1] = true;
    }
  }
  return false;
}

function checkFlowSet(flows: { flow: FlowConfig; index: number }[], check: Checker): void {
  const byName = new Map<string, number>();
  for (const { flow, index } of flows) {
    const first = byName.get(flow.name);
    if (first !== undefined) {
      check.issue(
        ["flows", index, "name"],
        `duplicate flow name "${flow.name}" (also flows[${first}]): give each flow a unique name`,
      );
    } else {
      byName.set(flow.name, index);
    }
  }
  for (let i = 0; i < flows.length; i++) {
    for (let j = i + 1; j < flows.length; j++) {
      const a = flows[i]!;
      const b = flows[j]!;
      const collision = flowCollision(a.flow, b.flow);
      if (collision !== undefined) {
        check.issue(
          ["flows", b.index],
          `flows "${a.flow.name}" (flows[${a.index}]) and "${b.flow.name}" (flows[${b.index}]) ${collision}`,
        );
      }
      const loop = identityLoop(a.flow, b.flow);
      if (loop !== undefined) {
        check.issue(
          ["flows", b.index],
          `flows "${a.flow.name}" (flows[${a.index}]) and "${b.flow.name}" (flows[${b.index}]) ${loop}`,
        );
      }
    }
  }
}

function flowCollision(a: FlowConfig, b: FlowConfig): string | undefined {
  if (a.target !== b.target || a.naming !== b.naming) return undefined;
  // Prefix names start with the source alias, and aliases contain no ".", so different sources
  // can never produce the same remote name.
  if (a.naming === "prefix" && a.source !== b.source) return undefined;
  const overlap = filterOverlap(a.topics, b.topics);
  if (overlap === undefined) return undefined;
  const how =
    a.naming === "identity"
      ? `both write identity-named topics into cluster "${a.target}" and ${overlap}, so two sources would be merged into one topic`
      : `both copy "${a.source}" into "${a.target}" and ${overlap}, so two flows would write the same remote topic`;
  // Renaming only helps identity flows: prefix flows from one source name their copies alike.
  const rename = a.naming === "identity" ? "use naming: prefix for one of them, or " : "";
  return `${how}: ${rename}make the two flows select disjoint topics (literal names, patterns with different literal prefixes, or the other flow's topics in one flow's topics.exclude)`;
}

function identityLoop(a: FlowConfig, b: FlowConfig): string | undefined {
  if (a.source !== b.target || a.target !== b.source) return undefined;
  if (a.naming !== "identity" || b.naming !== "identity") return undefined;
  if (a.provenanceHeader && b.provenanceHeader) return undefined;
  if (filterOverlap(a.topics, b.topics) === undefined) return undefined;
  return "replicate in opposite directions with identity naming and provenanceHeader: false on at least one side, so records would loop between the clusters forever: remove provenanceHeader: false (identity naming needs it), or use naming: prefix";
}

function buildRedis(value: unknown, check: Checker, baseDir: string | undefined): RedisConfig {
  const path = ["redis"];
  const raw = check.record(value, path, "redis") ?? {};
  check.keys(raw, path, [
    "url",
    "keyPrefix",
    "sentinels",
    "sentinelName",
    "password",
    "sentinelPassword",
    "tls",
  ]);
  let url = "redis://127.0.0.1:6379";
  const givenUrl = check.string(raw.url, [...path, "url"], { secret: true });
  if (givenUrl !== undefined) {
    const problem = redisUrlProblem(givenUrl);
    if (problem === undefined) url = givenUrl;
    else check.issue([...path, "url"], problem);
  }
  const keyPrefix = check.string(raw.keyPrefix, [...path, "keyPrefix"]) ?? "geo:";
  const sentinels = buildSentinels(raw.sentinels, [...path, "sentinels"], check);
  const sentinelName = check.string(raw.sentinelName, [...path, "sentinelName"]);
  if (sentinels !== undefined && (sentinelName === undefined || sentinelName === "")) {
    check.issue(
      [...path, "sentinelName"],
      "is required with sentinels: the name of the monitored master",
    );
  }
  if (sentinels === undefined && sentinelName !== undefined) {
    check.issue(
      [...path, "sentinels"],
      "is missing: sentinelName is only used together with a sentinels list",
    );
  }
  const password = check.string(raw.password, [...path, "password"], { secret: true });
  const sentinelPassword = check.string(raw.sentinelPassword, [...path, "sentinelPassword"], {
    secret: true,
  });
  const tls = buildTls(raw.tls, [...path, "tls"], check, baseDir);
  return {
    url,
    keyPrefix,
    ...(sentinels === undefined ? {} : { sentinels }),
    ...(sentinelName === undefined ? {} : { sentinelName }),
    ...(password === undefined || password === "" ? {} : { password }),
    ...(sentinelPassword === undefined || sentinelPassword === "" ? {} : { sentinelPassword }),
    ...(tls === undefined ? {} : { tls }),
  };
}

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

function buildSentinels(value: unknown, path: Seg[], check: Checker): HostPortConfig[] | undefined {
  if (value === undefined || value === null) return undefined;
  const items =
    typeof value === "string" ? value.split(",").map((s) => s.trim()) : check.list(value, path);
  if (items === undefined) return undefined;
  if (items.length === 0) {
    check.issue(path, 'is empty: list Sentinel nodes as "host:port" or { host, port }');
    return undefined;
  }
  const out: HostPortConfig[] = [];
  items.forEach((item, index) => {
    const itemPath = typeof value === "string" ? path : [...path, index];
    if (item !== null && typeof item === "object" && !Array.isArray(item)) {
      const raw = item as Obj;
      check.keys(raw, itemPath, ["host", "port"]);
      const host = check.string(raw.host, [...itemPath, "host"], { required: true });
      const port = check.int(raw.port, [...itemPath, "port"], 26379, { min: 1, max: 65535 });
      if (host !== undefined) {
        const problem = hostPortProblem(
          host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`,
        );
        if (problem === undefined) out.push({ host, port });
        else check.issue([...itemPath, "host"], problem);
      }
      return;
    }
    const text = check.hostPort(item, itemPath);
    if (text !== undefined) out.push(parseHostPort(text));
  });
  return out;
}

function buildServices(
  value: unknown,
  clusters: Record<string, ClusterConfig> | undefined,
  check: Checker,
): GeoConfig["services"] {
  const path = ["services"];
  const raw = check.record(value, path, "services") ?? {};
  check.keys(raw, path, ["coordinator", "offsets", "health", "agent"]);
  const endpoint = (name: "coordinator" | "offsets" | "health"): ServiceEndpointConfig => {
    const servicePath = [...path, name];
    const service = check.record(raw[name], servicePath, name) ?? {};
    check.keys(service, servicePath, ["listen", "address", "metricsListen"]);
    const defaultListen = `0.0.0.0:${DEFAULT_PORTS[name]}`;
    const listen = check.hostPort(service.listen, [...servicePath, "listen"]) ?? defaultListen;
    const address =
      check.hostPort(service.address, [...servicePath, "address"]) ?? reachable(listen);
    return { listen, address, metricsListen: metricsListen(service, servicePath, listen, check) };
  };
  const agentPath = [...path, "agent"];
  const agentRaw = check.record(raw.agent, agentPath, "agent") ?? {};
  check.keys(agentRaw, agentPath, ["listen", "metricsListen", "region", "id"]);
  const region = check.string(agentRaw.region, [...agentPath, "region"]);
  if (region !== undefined && region !== "" && clusters !== undefined) {
    const regions = [...new Set(Object.values(clusters).map((cluster) => cluster.region))].sort();
    if (!regions.includes(region)) {
      check.issue(
        [...agentPath, "region"],
        `unknown region "${region}"${didYouMean(region, regions)}; regions of the configured clusters: ${regions.join(", ")}`,
      );
    }
  }
  const id = check.pattern(
    agentRaw.id,
    [...agentPath, "id"],
    AGENT_ID,
    'use letters, digits, ".", "_" and "-"',
  );
  // Port 0 lets several agents share a host in demos; agents register their real address.
  const agentListen =
    check.hostPort(agentRaw.listen, [...agentPath, "listen"], true) ??
    `0.0.0.0:${DEFAULT_PORTS.agent}`;
  const agent: AgentServiceConfig = {
    listen: agentListen,
    metricsListen: metricsListen(agentRaw, agentPath, agentListen, check),
    ...(region === undefined || region === "" ? {} : { region }),
    ...(id === undefined ? {} : { id }),
  };
  return {
    coordinator: endpoint("coordinator"),
    offsets: endpoint("offsets"),
    health: endpoint("health"),
    agent,
  };
}

// Prometheus metrics sit one port above the service's gRPC port on the same host unless
// configured; port 0 (for either) is allowed so tests and demos can run several copies on a host.
function metricsListen(
  raw: Record<string, unknown>,
  servicePath: readonly Seg[],
  listen: string,
  check: Checker,
): string {
  const configured = check.hostPort(raw.metricsListen, [...servicePath, "metricsListen"], true);
  if (configured !== undefined) return configured;
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

function buildLeases(value: unknown, check: Checker): LeasesConfig {
  const path = ["leases"];
  const raw = check.record(value, path, "leases") ?? {};
  check.keys(raw, path, ["ttlMs", "renewIntervalMs", "safetyMarginMs", "graceMs"]);
  const issuesBefore = check.issues.length;
  const ttlMs = check.int(raw.ttlMs, [...path, "ttlMs"], 10_000, {
    min: 500,
    max: 60_000,
    unit: "ms",
  });
  // The margin scales down for short test TTLs so that the defaults stay consistent.
  const safetyMarginMs = check.int(
    raw.safetyMarginMs,
    [...path, "safetyMarginMs"],
    Math.min(2000, Math.floor(ttlMs / 4)),
    {
      min: 1,
      max: 60_000,
      unit: "ms",
    },
  );
  const renewIntervalMs = check.int(
    raw.renewIntervalMs,
    [...path, "renewIntervalMs"],
    Math.floor(ttlMs / 3),
    {
      min: 10,
      max: 60_000,
      unit: "ms",
    },
  );
  const graceMs = check.int(raw.graceMs, [...path, "graceMs"], 1000, {
    min: 0,
    max: 60_000,
    unit: "ms",
  });
  // Cross-checks against a value that was itself rejected would only mislead.
  if (check.issues.length > issuesBefore)
    return { ttlMs, renewIntervalMs, safetyMarginMs, graceMs };
  if (safetyMarginMs >= ttlMs) {
    check.issue(
      [...path, "safetyMarginMs"],
      `is ${safetyMarginMs} ms, must be less than ttlMs (${ttlMs} ms): an agent stops trusting its lease ttl - margin after renewing`,
    );
  } else if (renewIntervalMs >= ttlMs - safetyMarginMs) {
    check.issue(
      [...path, "renewIntervalMs"],
      `is ${renewIntervalMs} ms, must be less than ttlMs - safetyMarginMs (${ttlMs - safetyMarginMs} ms), or agents would drop their leases between renewals; about ttlMs / 3 is usual`,
    );
  }
  return { ttlMs, renewIntervalMs, safetyMarginMs, graceMs };
}

function buildTelemetry(value: unknown, check: Checker): TelemetryConfig {
  const path = ["telemetry"];
  const raw = check.record(value, path, "telemetry") ?? {};
  check.keys(raw, path, ["enabled", "otlpEndpoint", "serviceName", "traceBatchesOneIn"]);
  const endpoint = check.string(raw.otlpEndpoint, [...path, "otlpEndpoint"]);
  let otlpEndpoint = "http://127.0.0.1:4317";
  if (endpoint !== undefined && endpoint !== "") {
    let parsed: URL | undefined;
    try {
      parsed = new URL(endpoint);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
      check.issue(
        [...path, "otlpEndpoint"],
        `"${endpoint}" is not an http(s) URL: write the collector's OTLP/gRPC address, e.g. http://otel-collector:4317`,
      );
    } else {
      otlpEndpoint = endpoint;
    }
  }
  const serviceName = check.string(raw.serviceName, [...path, "serviceName"]);
  const traceBatchesOneIn =
    raw.traceBatchesOneIn === undefined
      ? undefined
      : check.int(raw.traceBatchesOneIn, [...path, "traceBatchesOneIn"], 0, {
          min: 0,
          max: 1_000_000_000,
          unit: "batches (0 traces none)",
        });
  return {
    enabled: check.bool(
      raw.enabled,
      [...path, "enabled"],
      endpoint !== undefined && endpoint !== "",
    ),
    otlpEndpoint,
    ...(serviceName === undefined || serviceName === "" ? {} : { serviceName }),
    ...(traceBatchesOneIn === undefined ? {} : { traceBatchesOneIn }),
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
