// Reads the YAML configuration: parses it with positions, expands ${VAR}, applies the GEO_*
// overrides, then checks it against the schema (check-sections.ts), locating every problem in the
// file so an operator fixes them all in one round.
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
import { checkFlows, checkSections, type IssueSink } from "./check-sections";
import { ConfigError, type ConfigIssue } from "./config-error";
import type { ClusterConfig, FlowConfig, GeoConfig } from "./geo-config";
import { type Env, interpolateEnv } from "./interpolate-env";
import { describeValue } from "./schema/fields";
import type { FoundIssue, Seg } from "./schema/zod-issues";

export { hasNestedQuantifier } from "./regex-check";
export { DEFAULT_GROUP_EXCLUDES, DEFAULT_PORTS } from "./schema/config-schema";

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

type Obj = Record<string, unknown>;
type Locate = (
  path: readonly Seg[],
  keyOnly: boolean,
) => { line: number; column: number } | undefined;

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
  const sink = new Issues((path, keyOnly) => {
    const offset = findOffset(doc.contents, path, keyOnly, doc);
    if (offset === undefined) return undefined;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  });
  const root = interpolateTree(raw ?? {}, [], env, sink);
  if (root === null || typeof root !== "object" || Array.isArray(root)) {
    sink.add({
      path: [],
      message: `the file must be a mapping of "key: value" lines, found ${describeValue(root)}`,
    });
    throw new ConfigError(source, sink.issues);
  }
  applyOverrides(root as Obj, env, sink);
  const config = checkSections(root as Obj, options.baseDir, sink);
  if (sink.issues.length > 0 || config === undefined) {
    throw new ConfigError(source, inFileOrder(sink.issues));
  }
  return deepFreeze({ source, ...config });
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
  const sink = new Issues(() => undefined);
  const interpolated = interpolateTree([...flows], ["flows"], options.env ?? {}, sink);
  const known = new Map(Object.values(clusters).map((cluster) => [cluster.alias, cluster.region]));
  const report = (path: readonly Seg[], message: string) => sink.add({ path, message });
  const result = checkFlows(interpolated, { clusters: known }, report, sink);
  if (sink.issues.length > 0) throw new ConfigError(options.source ?? "flows", sink.issues);
  return deepFreeze(result);
}

/** The issues found, located in the file; values set by the environment are said so instead. */
class Issues implements IssueSink {
  readonly issues: ConfigIssue[] = [];
  /** Dotted paths whose value came from a GEO_* override, with the variable's name. */
  readonly overridden = new Map<string, string>();
  /** Dotted paths whose ${VAR} failed; already reported, so "missing" is not said twice. */
  readonly unresolved = new Set<string>();

  constructor(private readonly locate: Locate) {}

  add(issue: FoundIssue): void {
    const dotted = formatPath(issue.path);
    if (this.unresolved.has(dotted)) return;
    const variable = this.overridden.get(dotted);
    if (variable !== undefined) {
      this.issues.push({ path: dotted, message: `${issue.message} (value set by ${variable})` });
      return;
    }
    const pos = this.locate(issue.path, issue.atKey === true);
    this.issues.push({ path: dotted, message: issue.message, ...(pos ?? {}) });
  }
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

// Expands ${VAR} in every string value (never in keys), reporting each failure at its path. A key
// without a value means the key is absent, except a cluster alias, which is reported as empty.
function interpolateTree(value: unknown, path: Seg[], env: Env, sink: Issues): unknown {
  if (typeof value === "string") {
    const result = interpolateEnv(value, env);
    if (!result.ok) {
      sink.add({ path, message: `the value ${result.problem}` });
      sink.unresolved.add(formatPath(path));
      return undefined;
    }
    return result.value;
  }
  if (Array.isArray(value))
    return value.map((item, index) => interpolateTree(item, [...path, index], env, sink));
  if (value !== null && typeof value === "object") {
    const keepsEmpty = path.length === 1 && path[0] === "clusters";
    const out: Obj = {};
    for (const [key, item] of Object.entries(value as Obj)) {
      if (item === null && !keepsEmpty) continue;
      out[key] = interpolateTree(item, [...path, key], env, sink);
    }
    return out;
  }
  return value;
}

function applyOverrides(root: Obj, env: Env, sink: Issues): void {
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
    sink.overridden.set(dotted, variable);
  }
}

// Keys whose value is undefined (an optional field left out) are dropped, so the result compares
// and serialises as if they had never been there.
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined && !Array.isArray(value)) delete (value as Obj)[key];
      else deepFreeze(item);
    }
    Object.freeze(value);
  }
  return value;
}
