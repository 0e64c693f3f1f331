// A flow: which topics go from which cluster to which, named how, starting where. The rules over
// the set of flows are in ../flow-checks.ts.
import { z } from "zod";
import { FLOW_LIMITS } from "../limits";
import { regexProblem } from "../regex-check";
import { clusterRef, type SchemaContext } from "./context";
import { choice, describeValue, flag, MAX_NAME, name, requiredText, section } from "./fields";

const FLOW_NAME = /^[A-Za-z0-9][A-Za-z0-9._>-]*$/;

/** MirrorMaker 2's default `groups.exclude`: console consumers, Connect workers, internal groups. */
export const DEFAULT_GROUP_EXCLUDES: readonly string[] = Object.freeze([
  "console-consumer-.*",
  "connect-.*",
  "__.*",
]);

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
