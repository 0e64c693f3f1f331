// geoctl import mm2: a MirrorMaker 2 dedicated-mode config (mm2.properties) as geo's YAML.
// Clusters with their bootstrap servers and security, every enabled `A->B` flow with its topic
// filters, naming policy and start position. Every other setting is reported with the reason it
// does not carry over, and the result is validated with the services' own rules.
import { ConfigError, parseConfig } from "@geo/config";
import { stringify } from "yaml";
import { CliError, ExitCode } from "../exit-codes";
import { Mm2Properties, splitList } from "./mm2-properties";
import { reasonFor } from "./mm2-reasons";
import { type ClusterSecurityYaml, convertSecurity, type Report } from "./mm2-security";

export interface Mm2Conversion {
  /** The config as data (what the YAML says). */
  config: { clusters: Record<string, ClusterYaml>; flows: FlowYaml[] };
  /** The YAML text, with a header comment. */
  yaml: string;
  /** Settings not carried over, with why. */
  dropped: { key: string; reason: string }[];
  /** Settings carried over with a change worth knowing. */
  notes: { key: string; note: string }[];
  /** Environment variables the YAML reads (passwords). */
  env: string[];
  /** Problems the services would report on the YAML (e.g. a Java-only regex). */
  problems: { path: string; message: string }[];
}

interface ClusterYaml extends ClusterSecurityYaml {
  bootstrapServers: string[];
}

interface FlowYaml {
  name: string;
  source: string;
  target: string;
  topics: { include: string[]; exclude: string[] };
  naming: "prefix" | "identity";
  startFrom?: "latest";
}

const IDENTITY = /(^|\.)IdentityReplicationPolicy$/;
const DEFAULT_POLICY = /(^|\.)DefaultReplicationPolicy$/;
// MM2's default topics.exclude, minus what geo never replicates anyway (__*, *-internal, *.internal).
const MM2_DEFAULT_EXCLUDE = [".*\\.replica"];

/** geo's alias for an MM2 cluster alias: lower case letters, digits and "-". */
export function geoAlias(alias: string): string {
  const cleaned = alias
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^[^a-z]+/, "");
  return cleaned === "" ? "cluster" : cleaned;
}

function aliasesOf(props: Mm2Properties, report: Report): Map<string, string> {
  const listed = splitList(props.take("clusters"));
  if (listed.length === 0) {
    throw new CliError(
      'no "clusters = A, B" line: is this a MirrorMaker 2 (dedicated mode) config?',
      ExitCode.INVALID,
    );
  }
  const aliases = new Map<string, string>();
  for (const alias of listed) {
    let ours = geoAlias(alias);
    while ([...aliases.values()].includes(ours)) ours = `${ours}-2`;
    if (ours !== alias) {
      report.note(
        "clusters",
        `alias "${alias}" becomes "${ours}" (geo aliases are lower case letters, digits and "-"): remote topics will be named ${ours}.<topic>, not ${alias}.<topic>, so existing MM2 copies are not continued`,
      );
    }
    aliases.set(alias, ours);
  }
  return aliases;
}

function convertFlow(
  props: Mm2Properties,
  source: string,
  target: string,
  aliases: Map<string, string>,
  report: Report,
): FlowYaml {
  const flow = `${source}->${target}`;
  const value = (name: string) => props.first([`${flow}.${name}`, name])?.value;
  const include = splitList(
    value("topics") ?? props.first([`${flow}.topics.whitelist`, "topics.whitelist"])?.value,
  );
  const excludeText =
    value("topics.exclude") ?? props.first([`${flow}.topics.blacklist`, "topics.blacklist"])?.value;
  const policy = value("replication.policy.class");
  let naming: FlowYaml["naming"] = "prefix";
  if (policy !== undefined && IDENTITY.test(policy)) {
    naming = "identity";
    report.note(
      `${flow}: replication.policy.class`,
      "identity naming; geo adds a provenance header to every copied record, so an identity flow in the opposite direction does not loop (MM2's IdentityReplicationPolicy cannot tell)",
    );
  } else if (policy !== undefined && !DEFAULT_POLICY.test(policy)) {
    report.dropped(
      `${flow}: replication.policy.class`,
      `${policy} is a custom Java class: geo names remote topics with prefix (<source>.<topic>) or identity naming; prefix used`,
    );
  }
  const separator = value("replication.policy.separator");
  if (separator !== undefined && separator !== "." && naming === "prefix") {
    report.dropped(
      `${flow}: replication.policy.separator`,
      `geo's prefix naming always uses "." (<source>.<topic>), so remote topics will not be the ones MM2 wrote with "${separator}"`,
    );
  }
  const reset = props.first([
    `${flow}.consumer.auto.offset.reset`,
    `${source}.consumer.auto.offset.reset`,
    "consumer.auto.offset.reset",
  ]);
  const result: FlowYaml = {
    name: `${aliases.get(source)}->${aliases.get(target)}`,
    source: aliases.get(source)!,
    target: aliases.get(target)!,
    topics: {
      include: include.length > 0 ? include : [".*"],
      exclude: excludeText === undefined ? MM2_DEFAULT_EXCLUDE : splitList(excludeText),
    },
    naming,
  };
  if (reset?.value === "latest") result.startFrom = "latest";
  else if (reset !== undefined && reset.value !== "earliest") {
    report.dropped(
      reset.key,
      `"${reset.value}": geo starts partitions without progress at earliest (default) or latest`,
    );
  }
  return result;
}

/** Enabled flows `A->B` between listed clusters, in file order. */
function enabledFlows(props: Mm2Properties, aliases: Map<string, string>, report: Report) {
  const flows: [string, string][] = [];
  // Aliases may contain "." and "-", so keys are matched against the listed pairs, not parsed.
  const pairs = [...aliases.keys()].flatMap((source) =>
    [...aliases.keys()].filter((target) => target !== source).map((target) => [source, target]),
  );
  for (const [source, target] of pairs as [string, string][]) {
    const key = `${source}->${target}.enabled`;
    const value = props.take(key);
    if (value === undefined) continue;
    if (value.toLowerCase() === "true") flows.push([source, target]);
    else report.note(key, "not enabled in MM2, so not converted");
  }
  return flows;
}

/** Converts the text of an mm2.properties file. `source` names it in the YAML's header. */
export function convertMm2(text: string, source: string): Mm2Conversion {
  const props = new Mm2Properties(text);
  const dropped: Mm2Conversion["dropped"] = [];
  const notes: Mm2Conversion["notes"] = [];
  const env = new Set<string>();
  const report: Report = {
    dropped: (key, reason) => dropped.push({ key, reason }),
    note: (key, note) => notes.push({ key, note }),
    needsEnv: (variable) => env.add(variable),
  };
  const aliases = aliasesOf(props, report);
  const clusters: Record<string, ClusterYaml> = {};
  for (const [alias, ours] of aliases) {
    const servers = splitList(props.take(`${alias}.bootstrap.servers`));
    if (servers.length === 0)
      report.dropped(
        `${alias}.bootstrap.servers`,
        `missing: fill clusters.${ours}.bootstrapServers`,
      );
    clusters[ours] = { bootstrapServers: servers, ...convertSecurity(props, alias, ours, report) };
  }
  const flows = enabledFlows(props, aliases, report).map(([s, t]) =>
    convertFlow(props, s, t, aliases, report),
  );
  for (const key of props.unused()) {
    const prefix = [...aliases.keys()].flatMap((a) => [`${a}.`]).find((p) => key.startsWith(p));
    const flowPrefix = /^[^.]+->[^.]+\./.exec(key)?.[0];
    const setting = key.slice((flowPrefix ?? prefix ?? "").length);
    dropped.push({ key, reason: reasonFor(setting) });
  }
  const config = { clusters, flows };
  const header = `# Converted from ${source} by geoctl import mm2. ${dropped.length} setting(s) were not carried over\n# (geoctl listed them with the reasons); review before use.\n`;
  const yaml = header + stringify(config, { lineWidth: 0 });
  return { config, yaml, dropped, notes, env: [...env].sort(), problems: validate(yaml, env) };
}

function validate(yaml: string, env: Set<string>): Mm2Conversion["problems"] {
  try {
    // Placeholder values for the variables the YAML reads: only their presence matters here.
    parseConfig(yaml, { env: Object.fromEntries([...env].map((name) => [name, "x"])) });
    return [];
  } catch (error) {
    if (!ConfigError.is(error)) throw error;
    return error.issues.map((issue) => ({ path: issue.path, message: issue.message }));
  }
}
