// Whole numbers in the forms epochs and offsets arrive in, before they are named either.
/** The largest int64: offsets and epochs are int64 wherever they are stored. */
export const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL = /^-?\d{1,19}$/;

/** The whole number in `value` (a bigint, a safe-integer number or a decimal string), or undefined. */
export function wholeNumber(value: unknown): bigint | undefined {
  if (typeof value === "bigint")
    return value >= -INT64_MAX - 1n && value <= INT64_MAX ? value : undefined;
  if (typeof value === "number") return Number.isSafeInteger(value) ? BigInt(value) : undefined;
  if (typeof value === "string" && DECIMAL.test(value)) {
    const parsed = BigInt(value);
    return parsed <= INT64_MAX && parsed >= -INT64_MAX - 1n ? parsed : undefined;
  }
  return undefined;
}

export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  if (typeof value === "bigint") return `${value}n`;
  return String(value);
}
