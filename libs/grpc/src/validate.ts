import type { DescEnum } from "@bufbuild/protobuf";
import { type Epoch, epochFromProto, type Offset, offsetFromProto } from "@geo/positions";
import { Code } from "./code.js";
import { GeoError } from "./geo-error.js";

/**
 * INVALID_ARGUMENT naming the offending request field (`flow.topics.include[2]`), with the field
 * in the details and as a `BadRequest` field violation so clients can point at it.
 */
export function invalidArgument(field: string, problem: string): GeoError {
  return new GeoError(Code.INVALID_ARGUMENT, `${field}: ${problem}`, {
    details: { field },
    fieldViolations: [{ field, description: problem }],
  });
}

/** The string, unless empty (proto3 cannot tell empty from unset). */
export function requireNonEmpty(value: string, field: string): string {
  if (value.length === 0) throw invalidArgument(field, "is required");
  return value;
}

/**
 * The string, unless longer than `max` characters: INVALID_ARGUMENT naming the field and the
 * limit. The value itself is not echoed (it may be megabytes).
 */
export function requireMaxLength(value: string, field: string, max: number): string {
  if (value.length > max) {
    throw invalidArgument(
      field,
      `is ${value.length} characters long, more than the limit of ${max}: shorten it`,
    );
  }
  return value;
}

/** The message, unless unset. */
export function requirePresent<T>(value: T | undefined | null, field: string): T {
  if (value === undefined || value === null) throw invalidArgument(field, "is required");
  return value;
}

const int64Pattern = /^-?\d+$/;
const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/** Range of {@link requireInt64}, inclusive. */
export interface Int64Range {
  min?: bigint;
  max?: bigint;
}

/**
 * Parses an int64 carried as a decimal string (`jstype = JS_STRING`) exactly, as a bigint.
 * An empty string is refused; use `requireInt64(value || "0", ...)` where unset means zero.
 */
export function requireInt64(value: string, field: string, range: Int64Range = {}): bigint {
  if (!int64Pattern.test(value)) throw invalidArgument(field, `"${value}" is not an integer`);
  const parsed = BigInt(value);
  if (parsed < int64Min || parsed > int64Max) throw invalidArgument(field, "is out of int64 range");
  if (range.min !== undefined && parsed < range.min) {
    throw invalidArgument(field, `must be at least ${range.min}, got ${parsed}`);
  }
  if (range.max !== undefined && parsed > range.max) {
    throw invalidArgument(field, `must be at most ${range.max}, got ${parsed}`);
  }
  return parsed;
}

/** An epoch request field: INVALID_ARGUMENT naming it unless it is a non-negative int64. */
export function requireEpoch(value: string, field: string): Epoch {
  requireInt64(value, field, { min: 0n });
  return epochFromProto(value, field);
}

/** A Kafka offset request field: INVALID_ARGUMENT naming it unless it is a non-negative int64. */
export function requireOffset(value: string, field: string): Offset {
  requireInt64(value, field, { min: 0n });
  return offsetFromProto(value, field);
}

/**
 * The enum value, unless it is not a value of `schema` (proto3 enums are open: unknown numbers
 * arrive as is) or, unless allowed, the zero `*_UNSPECIFIED` value.
 */
export function requireEnum<E extends number>(
  value: E,
  schema: DescEnum,
  field: string,
  options: { allowUnspecified?: boolean } = {},
): E {
  const known = schema.values.find((candidate) => candidate.number === value);
  if (known === undefined) {
    throw invalidArgument(field, `${value} is not a value of ${schema.typeName}`);
  }
  if (value === 0 && options.allowUnspecified !== true) {
    throw invalidArgument(field, `is required (one of ${namesOf(schema)})`);
  }
  return value;
}

function namesOf(schema: DescEnum): string {
  return schema.values
    .filter((value) => value.number !== 0)
    .map((value) => value.name)
    .join(", ");
}

/** Options of {@link pageSize}. */
export interface PageSizeOptions {
  /** Used when the request says 0. */
  defaultSize: number;
  /** Larger requests are capped here rather than refused, as AIP-158 recommends. */
  maxSize: number;
}

/** A request's `page_size`: the default for 0, capped at the maximum, refused when negative. */
export function pageSize(value: number, field: string, options: PageSizeOptions): number {
  if (value < 0) throw invalidArgument(field, "must not be negative");
  if (value === 0) return options.defaultSize;
  return Math.min(value, options.maxSize);
}
