// A flow definition from the admin API judged with the config file's own rules (validateFlows)
// against every other flow, its problems named by the API's field names.
import {
  ConfigError,
  type ConfigIssue,
  type FlowConfig,
  type GeoConfig,
  validateFlows,
} from "@geo/config";
import { type GeoError, invalidArgument } from "@geo/grpc";
import type { FlowDefinition } from "./flow-changes";

/** The flows a draft must agree with. */
export interface OtherFlows {
  /** The config file's flows, which only the file can change. */
  readonly fileFlows: readonly FlowConfig[];
  /** The API's flows, without the one being replaced and any a file flow shadows. */
  readonly apiFlows: readonly FlowDefinition[];
  readonly clusters: GeoConfig["clusters"];
  /** The config file, named when the draft conflicts with one of its flows. */
  readonly file: string;
}

/** The draft validated against every other flow; throws INVALID_ARGUMENT naming the field. */
export function validateDraft(draft: Record<string, unknown>, others: OtherFlows): FlowDefinition {
  const flows: unknown[] = [...others.fileFlows, ...others.apiFlows];
  try {
    return definitionOf(validateFlows([...flows, draft], others.clusters).at(-1)!);
  } catch (error) {
    if (!ConfigError.is(error)) throw error;
    const mine = error.issues.filter((issue) => issueIndex(issue) === flows.length);
    if (mine.length > 0) {
      // Indexes below the file's flow count are the file's flows, which only the file can narrow.
      throw validationError(mine, (index) =>
        index < others.fileFlows.length
          ? ` (defined in the config file ${others.file}, which owns it)`
          : "",
      );
    }
  }
  // Only other flows are inconsistent (the file changed under them): judge this one alone.
  try {
    return definitionOf(validateFlows([draft], others.clusters).at(-1)!);
  } catch (error) {
    if (!ConfigError.is(error)) throw error;
    throw validationError(error.issues);
  }
}

/** A validated flow in the shape the flow log stores. */
export function definitionOf(flow: FlowConfig): FlowDefinition {
  return {
    name: flow.name,
    source: flow.source,
    target: flow.target,
    topics: { include: [...flow.topics.include], exclude: [...flow.topics.exclude] },
    naming: flow.naming,
    provenanceHeader: flow.provenanceHeader,
    startFrom: flow.startFrom,
    onOffsetOutOfRange: flow.onOffsetOutOfRange,
    paused: flow.paused,
    ...(flow.groups === undefined
      ? {}
      : { groups: { include: [...flow.groups.include], exclude: [...flow.groups.exclude] } }),
    ...(flow.syncGroupOffsets === undefined ? {} : { syncGroupOffsets: flow.syncGroupOffsets }),
  };
}

const ISSUE_PATH = /^flows\[(\d+)\](.*)$/;

function issueIndex(issue: ConfigIssue): number | undefined {
  const match = ISSUE_PATH.exec(issue.path);
  return match === null ? undefined : Number(match[1]);
}

/** The file's key names, as the API's Flow message names them. */
const API_FIELDS: Readonly<Record<string, string>> = {
  source: "source_cluster",
  target: "target_cluster",
  naming: "naming_policy",
  provenanceHeader: "provenance_header",
  startFrom: "start_position",
  onOffsetOutOfRange: "on_offset_out_of_range",
  syncGroupOffsets: "sync_group_offsets",
};

/** "flows[3].topics.include[0]" → "flow.topics.include[0]"; "flows[3].source" → "flow.source_cluster". */
export function apiFieldOf(path: string): string {
  const rest = ISSUE_PATH.exec(path)?.[2] ?? "";
  if (rest === "") return "flow";
  const key = /^\.([A-Za-z]+)(.*)$/.exec(rest);
  if (key === null) return `flow${rest}`;
  return `flow.${API_FIELDS[key[1]!] ?? key[1]}${key[2]}`;
}

function validationError(
  issues: readonly ConfigIssue[],
  /** What to say instead of a "(flows[i])" reference to another flow of the validated list. */
  describeIndex: (index: number) => string = () => "",
): GeoError {
  const [first] = issues;
  const problems = issues.map((issue) => {
    // Index references into the validated list mean nothing to an API caller; that the other
    // flow belongs to the config file does: only the file can change it.
    const message = issue.message.replace(/ \(flows\[(\d+)\]\)/g, (_, index: string) =>
      describeIndex(Number(index)),
    );
    return issue === first ? message : `${apiFieldOf(issue.path)}: ${message}`;
  });
  return invalidArgument(apiFieldOf(first?.path ?? ""), problems.join("; "));
}
