// Flows from a YAML file, in the config file's schema: a config file (only its `flows` are read),
// a bare list of flows, or one flow. They are validated with the services' own rules
// (@geo/config validateFlows) against the clusters the coordinator knows, then turned into the
// admin API's Flow messages.
import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { type ClusterConfig, ConfigError, type FlowConfig, validateFlows } from "@geo/config";
import { coordinatorV1, replicationV1 } from "@geo/proto";
import { parse } from "yaml";
import { CliError, ExitCode } from "./exit-codes";

const { NamingPolicy, OffsetOutOfRangePolicy, StartPosition } = replicationV1;

/** The raw flow entries of a flow file; throws CliError for unreadable or misshapen files. */
export function readFlowEntries(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`, ExitCode.INVALID);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    const reason = (error as Error).message.split("\n", 1)[0];
    throw new CliError(`${path} is not valid YAML: ${reason}`, ExitCode.INVALID);
  }
  if (Array.isArray(raw)) return raw;
  if (raw !== null && typeof raw === "object") {
    const record = raw as Record<string, unknown>;
    if (Array.isArray(record.flows)) return record.flows;
    if ("source" in record || "target" in record) return [record];
  }
  throw new CliError(
    `${path} holds no flows: write "flows:" with a list of flows (as in the config file), a list of flows, or one flow with source and target`,
    ExitCode.INVALID,
  );
}

/** Clusters as validateFlows needs them, from the coordinator's ListClusters. */
export function clusterConfigs(
  clusters: readonly coordinatorV1.Cluster[],
): Record<string, ClusterConfig> {
  return Object.fromEntries(
    clusters.map((cluster) => [
      cluster.alias,
      { alias: cluster.alias, region: cluster.region, bootstrapServers: cluster.bootstrapServers },
    ]),
  );
}

/** Validated, defaulted flows of `path`; a CliError lists every problem with its path. */
export function loadFlowFile(
  path: string,
  clusters: Readonly<Record<string, ClusterConfig>>,
): readonly FlowConfig[] {
  const entries = readFlowEntries(path);
  try {
    return validateFlows(entries, clusters, { source: path, env: process.env });
  } catch (error) {
    if (!ConfigError.is(error)) throw error;
    throw new CliError(error.message, ExitCode.INVALID);
  }
}

const START = { earliest: StartPosition.EARLIEST, latest: StartPosition.LATEST } as const;
const OUT_OF_RANGE = {
  fail: OffsetOutOfRangePolicy.FAIL,
  earliest: OffsetOutOfRangePolicy.RESET_EARLIEST,
  latest: OffsetOutOfRangePolicy.RESET_LATEST,
} as const;

/** The admin API's Flow for a file flow (`paused` is applied by PauseFlow/ResumeFlow). */
export function flowMessage(flow: FlowConfig): coordinatorV1.Flow {
  return create(coordinatorV1.FlowSchema, {
    name: flow.name,
    sourceCluster: flow.source,
    targetCluster: flow.target,
    topics: { include: [...flow.topics.include], exclude: [...flow.topics.exclude] },
    namingPolicy: flow.naming === "identity" ? NamingPolicy.IDENTITY : NamingPolicy.PREFIX,
    provenanceHeader: flow.provenanceHeader,
    startPosition: START[flow.startFrom],
    onOffsetOutOfRange: OUT_OF_RANGE[flow.onOffsetOutOfRange],
  });
}

/** The comparable settings of a flow, from the file's form or the API's. */
export interface FlowSettings {
  source: string;
  target: string;
  include: readonly string[];
  exclude: readonly string[];
  naming: string;
  provenanceHeader: boolean;
  startFrom: string;
  onOffsetOutOfRange: string;
  paused: boolean;
}

export function fileSettings(flow: FlowConfig): FlowSettings {
  return {
    source: flow.source,
    target: flow.target,
    include: flow.topics.include,
    exclude: flow.topics.exclude,
    naming: flow.naming,
    provenanceHeader: flow.provenanceHeader,
    startFrom: flow.startFrom,
    onOffsetOutOfRange: flow.onOffsetOutOfRange,
    paused: flow.paused,
  };
}

export function apiSettings(flow: coordinatorV1.Flow): FlowSettings {
  const outOfRange = {
    [OffsetOutOfRangePolicy.RESET_EARLIEST]: "earliest",
    [OffsetOutOfRangePolicy.RESET_LATEST]: "latest",
  } as Record<number, string>;
  return {
    source: flow.sourceCluster,
    target: flow.targetCluster,
    include: flow.topics?.include ?? [],
    exclude: flow.topics?.exclude ?? [],
    naming: flow.namingPolicy === NamingPolicy.IDENTITY ? "identity" : "prefix",
    provenanceHeader: flow.provenanceHeader,
    startFrom: flow.startPosition === StartPosition.LATEST ? "latest" : "earliest",
    onOffsetOutOfRange: outOfRange[flow.onOffsetOutOfRange] ?? "fail",
    paused: flow.paused,
  };
}
