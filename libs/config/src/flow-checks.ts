// Rules over the set of flows active together (the file's and the admin API's): unique names,
// no two flows writing the same target topic, no identity-named records looping between two
// clusters. Each flow on its own is checked by the schema (schema/config-schema.ts).
import { filterOverlap } from "./filter-overlap";
import type { FlowConfig } from "./geo-config";
import type { Seg } from "./schema/zod-issues";

export type Report = (path: readonly Seg[], message: string) => void;

/** The name a flow goes by as written, so duplicates are found even in flows with other problems. */
export function writtenFlowName(raw: unknown): string | undefined {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return undefined;
  const { name, source, target } = raw as Record<string, unknown>;
  if (typeof name === "string" || typeof name === "number") return String(name);
  return typeof source === "string" && typeof target === "string"
    ? `${source}->${target}`
    : undefined;
}

/** Reports the second and later flows (or groups) with a name used before, at their `name`. */
export function checkUniqueNames(
  names: readonly (string | undefined)[],
  list: "flows" | "flowGroups",
  report: Report,
): void {
  const first = new Map<string, number>();
  names.forEach((name, index) => {
    if (name === undefined) return;
    const earlier = first.get(name);
    if (earlier === undefined) {
      first.set(name, index);
      return;
    }
    const what = list === "flows" ? "flow name" : "flow group name";
    const fix = list === "flows" ? "give each flow a unique name" : "give each group a unique name";
    report([list, index, "name"], `duplicate ${what} "${name}" (also ${list}[${earlier}]): ${fix}`);
  });
}

/** Pairs of valid flows that would write the same topic, or loop records between two clusters. */
export function checkFlowPairs(
  flows: readonly { flow: FlowConfig; index: number }[],
  report: Report,
): void {
  for (let i = 0; i < flows.length; i++) {
    for (let j = i + 1; j < flows.length; j++) {
      const a = flows[i]!;
      const b = flows[j]!;
      const both = `flows "${a.flow.name}" (flows[${a.index}]) and "${b.flow.name}" (flows[${b.index}])`;
      const collision = flowCollision(a.flow, b.flow);
      if (collision !== undefined) report(["flows", b.index], `${both} ${collision}`);
      const loop = identityLoop(a.flow, b.flow);
      if (loop !== undefined) report(["flows", b.index], `${both} ${loop}`);
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
