// Checks the file section by section against the schema, so one broken section does not hide the
// problems of the others, and flows and flow groups one by one, so the rules over the whole set
// (duplicate names, overlapping flows) still see every valid one.
import type { z } from "zod";
import type { ConfigIssue } from "./config-error";
import { didYouMean } from "./did-you-mean";
import { checkFlowPairs, checkUniqueNames, type Report, writtenFlowName } from "./flow-checks";
import { type FlowEnds, resolveFlowGroup } from "./flow-groups";
import type { ClusterConfig, FlowConfig, FlowGroupConfig, GeoConfig } from "./geo-config";
import {
  configSections,
  flowGroupSchema,
  flowListSchema,
  flowSchema,
} from "./schema/config-schema";
import type { SchemaContext } from "./schema/context";
import { type FoundIssue, parseWith } from "./schema/zod-issues";

type Obj = Record<string, unknown>;

/** Where issues go: parseConfig locates them in the file, validateFlows does not. */
export interface IssueSink {
  readonly issues: readonly ConfigIssue[];
  add(issue: FoundIssue): void;
}

/** The top-level keys, in the file's order (building a schema only to read them costs time). */
const SECTION_KEYS = Object.keys(configSections({}));

export function checkSections(
  root: Obj,
  baseDir: string | undefined,
  sink: IssueSink,
): Omit<GeoConfig, "source"> | undefined {
  const report: Report = (path, message) => sink.add({ path, message });
  const allowed = SECTION_KEYS;
  for (const key of Object.keys(root)) {
    if (allowed.includes(key)) continue;
    sink.add({
      path: [key],
      message: `unknown key "${key}"${didYouMean(key, allowed)}; allowed here: ${allowed.join(", ")}`,
      atKey: true,
    });
  }
  const context: SchemaContext = {
    clusters: writtenClusters(root.clusters),
    flows: writtenFlows(root.flows),
    baseDir,
  };
  const schemas = configSections(context);
  const parsed: Obj = {};
  let complete = true;
  for (const key of allowed) {
    if (key === "flows" || key === "flowGroups") continue;
    const schema = schemas[key as keyof typeof schemas];
    const result = parseWith(schema, root[key], [key]);
    for (const issue of result.issues) sink.add(issue);
    if (result.data === undefined) complete = false;
    parsed[key] = result.data;
  }
  const clusters = parsed.clusters as Record<string, ClusterConfig> | undefined;
  const flows = checkFlows(root.flows, context, report, sink);
  const flowGroups = checkFlowGroups(root.flowGroups, context, clusters ?? {}, report, sink);
  if (!complete || sink.issues.length > 0) return undefined;
  return { ...parsed, flows, flowGroups } as unknown as Omit<GeoConfig, "source">;
}

/** Every flow checked on its own, then the valid ones together. */
export function checkFlows(
  value: unknown,
  context: SchemaContext,
  report: Report,
  sink: IssueSink,
): FlowConfig[] {
  const { items, valid } = parseEach(value, "flows", flowSchema(context), sink);
  checkUniqueNames(items.map(writtenFlowName), "flows", report);
  checkFlowPairs(
    valid.map(({ data, index }) => ({ flow: data, index })),
    report,
  );
  return valid.map(({ data }) => data);
}

function checkFlowGroups(
  value: unknown,
  context: SchemaContext,
  clusters: Readonly<Record<string, ClusterConfig>>,
  report: Report,
  sink: IssueSink,
): FlowGroupConfig[] {
  const { items, valid } = parseEach(value, "flowGroups", flowGroupSchema(context), sink);
  const groups: FlowGroupConfig[] = [];
  for (const { data, index } of valid) {
    const at: Report = (path, message) => report(["flowGroups", index, ...path], message);
    const group = resolveFlowGroup(data, clusters, context.flows ?? new Map(), at);
    if (group !== undefined) groups.push(group);
  }
  const names = items.map((item) => (item as Obj | null)?.name);
  checkUniqueNames(
    names.map((name) => (typeof name === "string" ? name : undefined)),
    "flowGroups",
    report,
  );
  return groups;
}

/** A list checked item by item, so the valid items are known even when others have problems. */
function parseEach<T extends z.ZodType>(
  value: unknown,
  key: "flows" | "flowGroups",
  schema: T,
  sink: IssueSink,
): { items: unknown[]; valid: { data: z.output<T>; index: number }[] } {
  const list = parseWith(flowListSchema.optional(), value, [key]);
  for (const issue of list.issues) sink.add(issue);
  const items = list.data ?? [];
  const valid: { data: z.output<T>; index: number }[] = [];
  items.forEach((item, index) => {
    const result = parseWith(schema, item, [key, index]);
    for (const issue of result.issues) sink.add(issue);
    if (result.data !== undefined) valid.push({ data: result.data, index });
  });
  return { items, valid };
}

/** Alias → region of every cluster as written, also of those with problems of their own. */
function writtenClusters(value: unknown): Map<string, string> | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  return new Map(
    Object.entries(value as Obj).map(([alias, cluster]) => {
      const region = (cluster as Obj | null)?.region;
      return [alias, typeof region === "string" && region !== "" ? region : alias];
    }),
  );
}

function writtenFlows(value: unknown): FlowEnds {
  const ends = new Map<string, { source: unknown; target: unknown }>();
  if (!Array.isArray(value)) return ends;
  for (const item of value) {
    const name = writtenFlowName(item);
    if (name !== undefined)
      ends.set(name, { source: (item as Obj).source, target: (item as Obj).target });
  }
  return ends;
}
