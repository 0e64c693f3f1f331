// What the schema of one part of the file knows about the rest of it: the cluster aliases and
// regions (flows, the flow store, flow groups and the agent refer to them), the flows (flow groups
// name them) and the folder relative file paths are resolved against. The editors' JSON Schema is
// built without it, so there every reference is just text.

import { isAbsolute, resolve } from "node:path";
import { didYouMean } from "../did-you-mean";
import { optionalText, requiredText, text } from "./fields";

export interface SchemaContext {
  /** Alias → region of every cluster of the file, also of those with problems of their own. */
  readonly clusters?: ReadonlyMap<string, string>;
  /** Name → ends of every flow of the file, as written (for flow groups). */
  readonly flows?: ReadonlyMap<string, { readonly source: unknown; readonly target: unknown }>;
  /** Folder relative TLS file paths are resolved against. */
  readonly baseDir?: string;
}

function unknownCluster(alias: string, known: ReadonlyMap<string, string>): string {
  const aliases = [...known.keys()].sort();
  return `unknown cluster "${alias}"${didYouMean(alias, aliases)}; known clusters: ${aliases.join(", ")}`;
}

/** A cluster alias that must name one of the file's clusters. */
export function clusterRef(context: SchemaContext) {
  return requiredText().superRefine((alias, ctx) => {
    if (context.clusters !== undefined && !context.clusters.has(alias)) {
      ctx.addIssue({ code: "custom", message: unknownCluster(alias, context.clusters) });
    }
  });
}

/** A region that one of the file's clusters is in. */
export function regionRef(context: SchemaContext) {
  return optionalText().superRefine((region, ctx) => {
    if (region === undefined || context.clusters === undefined) return;
    const regions = [...new Set(context.clusters.values())].sort();
    if (!regions.includes(region)) {
      ctx.addIssue({
        code: "custom",
        message: `unknown region "${region}"${didYouMean(region, regions)}; regions of the configured clusters: ${regions.join(", ")}`,
      });
    }
  });
}

/** A flow of this file, by name. */
export function flowRef(context: SchemaContext) {
  return requiredText().superRefine((name, ctx) => {
    if (context.flows === undefined || context.flows.has(name)) return;
    const known = [...context.flows.keys()].sort();
    ctx.addIssue({
      code: "custom",
      message: `unknown flow "${name}"${didYouMean(name, known)}; a group names flows of this file (omit "flows" to take every flow between its two clusters, API flows included)`,
    });
  });
}

function inFolder(context: SchemaContext) {
  return (path: string) =>
    context.baseDir !== undefined && !isAbsolute(path) ? resolve(context.baseDir, path) : path;
}

/** An optional file path, resolved against the config file's folder when relative. */
export function filePath(context: SchemaContext) {
  const resolved = inFolder(context);
  return text()
    .transform((path) => (path === "" ? undefined : resolved(path)))
    .optional();
}

/** A file path that must be given. */
export function requiredFilePath(context: SchemaContext) {
  return requiredText().transform(inFolder(context));
}
