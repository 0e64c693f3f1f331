export const REDACTED = "[redacted]";

// Key names whose values are secrets wherever they appear: "password", "sasl.password",
// "clusters.us-east.sasl.password", "sentinelPassword", "clientSecret", "authToken",
// "authorization", "apiKey", "credentials"...
const SECRET_KEY =
  /(?:password|passwd|secret|token|authorization|api[-_]?key|credentials?|private[-_]?key)$/i;
// "scheme://user:password@host": keep the user, hide the password.
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@/\s]+)(@)/gi;
const MAX_DEPTH = 12;

/** Whether a property with this name holds a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * A copy of `value` with every secret replaced by "[redacted]": values under secret-looking keys
 * at any depth, and passwords inside URLs. Objects without secrets are returned as they are (no
 * copy), and the input is never modified, so frozen configuration objects can be logged.
 * Errors, Buffers, Maps and other class instances are left to pino's serializers.
 */
export function redactSecrets<T>(value: T): T {
  return redactValue(value, 0, new Set()) as T;
}

function redactValue(value: unknown, depth: number, ancestors: Set<object>): unknown {
  if (typeof value === "string") return redactString(value);
  if (value === null || typeof value !== "object" || depth > MAX_DEPTH) return value;
  if (ancestors.has(value)) return value;
  const isArray = Array.isArray(value);
  if (!isArray && !isPlainObject(value)) return value;
  ancestors.add(value);
  try {
    if (isArray) {
      let copy: unknown[] | undefined;
      value.forEach((item, index) => {
        const redacted = redactValue(item, depth + 1, ancestors);
        if (redacted !== item) {
          copy ??= [...value];
          copy[index] = redacted;
        }
      });
      return copy ?? value;
    }
    let copy: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(value)) {
      const redacted =
        isSecretKey(key) && item !== undefined && item !== null && item !== ""
          ? REDACTED
          : redactValue(item, depth + 1, ancestors);
      if (redacted !== item) {
        copy ??= { ...value };
        copy[key] = redacted;
      }
    }
    return copy ?? value;
  } finally {
    ancestors.delete(value);
  }
}

function redactString(text: string): string {
  if (!text.includes("://") || !text.includes("@")) return text;
  return text.replace(URL_PASSWORD, `$1${REDACTED}$3`);
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
