// The leaf fields of the configuration schema. YAML and `${VAR}` make the file more lenient than a
// JSON document: a password may be read as a number, `ttlMs: ${TTL:-5000}` arrives as the string
// "5000", an enum may be written in capitals. Each builder here accepts what the file may say,
// gives the message an operator needs (what is wrong, how to fix it, never a secret value), and
// records the JSON Schema that editors check the file as written against (jsonSchemaOf).
import { z } from "zod";
import { didYouMean } from "../did-you-mean";
import { hostPortProblem } from "../host-port";

// Schemas are built per file (they know its clusters), so they are parsed once each: compiling
// them to code first (zod's default) only costs time.
z.config({ jitless: true });

export type JsonSchema = Record<string, unknown>;

/** JSON Schema of the fields whose zod form does not say what the file may contain. */
export const jsonSchemaOf = new WeakMap<object, JsonSchema>();

// Both are keyed by the schema's definition, which its copies (`.describe()` makes one) share.
/** Lists that may also be written as one string (listOrString): the JSON Schema accepts both. */
export const alsoOneString = new WeakSet<object>();

/** Records the JSON Schema of a field whose input zod cannot describe (coercions, ${VAR}). */
export function documented<T extends z.ZodType>(schema: T, json: JsonSchema): T {
  jsonSchemaOf.set(schema._zod.def, json);
  return schema;
}

/** A scalar written as ${VAR} is only known at load time: editors accept it for any scalar. */
const INTERPOLATED: JsonSchema = { type: "string", pattern: "\\$\\{" };

export function orInterpolated(json: JsonSchema): JsonSchema {
  return { anyOf: [json, INTERPOLATED] };
}

import { FLOW_LIMITS } from "../limits";

/** Characters of a flow name, a cluster alias, an agent id. */
export const MAX_NAME = FLOW_LIMITS.maxNameLength;

const REQUIRED = "is required and missing: add it";
export const ALLOWED = "allowed here: ";

/** How a wrong value is shown in a message: its kind, and its text unless it may be secret. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `"${value}"`;
  return `${typeof value} ${String(value)}`;
}

/** An error callback: "is required" for an absent value, `otherwise(value)` for a wrong one. */
export function unlessMissing(otherwise: (input: unknown) => string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? REQUIRED : otherwise(issue.input);
}

/** Text. YAML reads `password: 123456` or `region: 1` as numbers; the author meant the text. */
export function text(options: { secret?: boolean } = {}) {
  const found = (input: unknown) =>
    `must be a string, found ${options.secret ? "another type" : describeValue(input)}`;
  return documented(
    z.preprocess(
      (value) => (typeof value === "number" ? String(value) : value),
      z.string({ error: unlessMissing(found) }),
    ),
    { type: ["string", "number"] },
  );
}

/** Text that must be given and not be empty. */
export function requiredText(options: { secret?: boolean } = {}) {
  return text(options).pipe(z.string().min(1, { error: "must not be empty" }));
}

/** Optional text where "" (often an unset variable with `:-`) counts as absent. */
export function optionalText(options: { secret?: boolean } = {}) {
  return text(options)
    .transform((value) => (value === "" ? undefined : value))
    .optional();
}

/** Text matching `re` and at most `maxLength` characters, e.g. aliases and ids. */
export function name(re: RegExp, rule: string, maxLength: number) {
  return text().superRefine((value, ctx) => {
    if (value.length > maxLength) {
      ctx.addIssue({
        code: "custom",
        message: `is ${value.length} characters long, more than the limit of ${maxLength} (maxNameLength)`,
      });
    } else if (!re.test(value)) {
      ctx.addIssue({ code: "custom", message: `"${value}" is not valid: ${rule}` });
    }
  });
}

const WHOLE_NUMBER = /^\s*-?\d+\s*$/;

/** A whole number in [min, max]; a string of digits (from ${VAR}) counts as the number. */
export function int(range: { min: number; max: number; unit?: string }) {
  const unit = range.unit === undefined ? "" : ` ${range.unit}`;
  const whole = unlessMissing(
    (input) =>
      `must be a whole number${range.unit === undefined ? "" : ` of ${range.unit}`}, found ${describeValue(input)}`,
  );
  const outside = (issue: { input?: unknown }) =>
    `is ${String(issue.input)}, must be between ${range.min} and ${range.max}${unit}`;
  return documented(
    z.preprocess(
      (value) => (typeof value === "string" && WHOLE_NUMBER.test(value) ? Number(value) : value),
      z
        .number({ error: whole })
        .int({ error: whole })
        .min(range.min, { error: outside })
        .max(range.max, { error: outside }),
    ),
    orInterpolated({ type: "integer", minimum: range.min, maximum: range.max }),
  );
}

/** Milliseconds in [min, max]. */
export function ms(min: number, max: number) {
  return int({ min, max, unit: "ms" });
}

/** true or false (also the strings, from ${VAR}). */
export function flag() {
  return documented(
    z.preprocess(
      (value) => (value === "true" ? true : value === "false" ? false : value),
      z.boolean({ error: (issue) => `must be true or false, found ${describeValue(issue.input)}` }),
    ),
    orInterpolated({ type: "boolean" }),
  );
}

/** One of `values`, in any case ("SCRAM-SHA-512" is scram-sha-512). */
export function choice<const T extends readonly [string, ...string[]]>(
  values: T,
  options: { whenMissing?: string } = {},
) {
  const message = (input: unknown) => {
    const shown = typeof input === "string" ? `"${input}"` : describeValue(input);
    const hint = typeof input === "string" ? didYouMean(input, values) : "";
    return `is ${shown}, must be one of ${values.join(", ")}${hint}`;
  };
  return documented(
    z
      .string({
        error: (issue) =>
          issue.input === undefined ? (options.whenMissing ?? REQUIRED) : message(issue.input),
      })
      .superRefine((value, ctx) => {
        if (!values.includes(value.toLowerCase()))
          ctx.addIssue({ code: "custom", message: message(value) });
      })
      .transform((value) => value.toLowerCase() as T[number]),
    orInterpolated({ enum: [...values] }),
  );
}

/** "host:port" ("[v6]:port" for IPv6); port 0 only where a free port may be picked. */
export function hostPort(options: { allowPortZero?: boolean } = {}) {
  return documented(
    text()
      .transform((value) => value.trim())
      .superRefine((value, ctx) => {
        const problem = hostPortProblem(value, options);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
      }),
    { type: "string", examples: ["kafka-1.example.com:9092", "[::1]:9092"] },
  );
}

/**
 * A list that may also be written as one string: split at commas for lists of addresses (like
 * Kafka's own bootstrap.servers, typically from one ${VAR}).
 */
export function listOrString<T extends z.ZodType>(
  item: T,
  options: { splitCommas: true; whenMissing?: string; min?: [number, string] },
) {
  let list = z.array(item, {
    error: (issue) =>
      issue.input === undefined && options.whenMissing !== undefined
        ? options.whenMissing
        : unlessMissing(
            (input) => `must be a list ("- item" lines or [a, b]), found ${describeValue(input)}`,
          )(issue),
  });
  if (options.min !== undefined) list = list.min(options.min[0], { error: options.min[1] });
  const schema = z.preprocess(
    (value) => (typeof value === "string" ? value.split(",").map((part) => part.trim()) : value),
    list,
  );
  alsoOneString.add(schema._zod.def);
  return schema;
}

/** A mapping with exactly these keys (unknown keys are reported with the allowed ones). */
export function section<T extends z.core.$ZodLooseShape>(
  shape: T,
  options: { what?: string; empty?: string } = {},
) {
  const what = options.what ?? "the section";
  return z.strictObject(shape, {
    error: (issue) => {
      // Read back by issuesOf, which names each unknown key with a likely fix.
      if (issue.code === "unrecognized_keys") return `${ALLOWED}${Object.keys(shape).join(", ")}`;
      if (issue.input === undefined) return REQUIRED;
      if (issue.input === null && options.empty !== undefined) return `is empty: ${options.empty}`;
      return `${what} must be a mapping of "key: value" lines, found ${describeValue(issue.input)}`;
    },
  });
}
