// zod's issues as the configuration's own: a path into the file, a message saying what is wrong
// and how to fix it, and whether the key (rather than its value) is what needs fixing.
import type { z } from "zod";
import { didYouMean } from "../did-you-mean";
import { ALLOWED, describeValue } from "./fields";

export type Seg = string | number;

export interface FoundIssue {
  readonly path: readonly Seg[];
  readonly message: string;
  /** The problem is the key itself (unknown or invalid key): locate the key, not its value. */
  readonly atKey?: boolean;
}

/** Messages for the issues no field builder words itself (passed to every safeParse). */
export function genericMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== "invalid_type") return undefined;
  if (issue.input === undefined) return "is required and missing: add it";
  const found = describeValue(issue.input);
  if (issue.expected === "array")
    return `must be a list ("- item" lines or [a, b]), found ${found}`;
  if (issue.expected === "object" || issue.expected === "record") {
    return `must be a mapping of "key: value" lines, found ${found}`;
  }
  return `must be ${issue.expected}, found ${found}`;
}

/** Parses `value` and returns its issues with paths under `prefix` (data when there are none). */
export function parseWith<T extends z.ZodType>(
  schema: T,
  value: unknown,
  prefix: readonly Seg[],
): { data?: z.output<T>; issues: FoundIssue[] } {
  const result = schema.safeParse(value, { error: genericMessage });
  if (result.success) return { data: result.data, issues: [] };
  return { issues: result.error.issues.flatMap((issue) => toFoundIssues(issue, prefix)) };
}

function toFoundIssues(issue: z.core.$ZodIssue, prefix: readonly Seg[]): FoundIssue[] {
  const path = [...prefix, ...(issue.path as Seg[])];
  if (issue.code === "unrecognized_keys") {
    const allowed = issue.message.startsWith(ALLOWED)
      ? issue.message.slice(ALLOWED.length).split(", ")
      : [];
    return issue.keys.map((key) => ({
      path: [...path, key],
      message: `unknown key "${key}"${didYouMean(key, allowed)}; ${issue.message}`,
      atKey: true,
    }));
  }
  if (issue.code === "invalid_union") {
    // A value of the wrong kind for every branch keeps the union's message; otherwise the branch
    // written for this kind of value (a list, a string...) says what is wrong inside it.
    const meant = issue.errors.filter(
      (branch) =>
        !branch.every((inner) => inner.code === "invalid_type" && inner.path.length === 0),
    );
    if (meant.length === 1) return meant[0]!.flatMap((inner) => toFoundIssues(inner, path));
  }
  const atKey = issue.code === "custom" && issue.params?.atKey === true;
  return [{ path, message: issue.message, ...(atKey ? { atKey } : {}) }];
}
