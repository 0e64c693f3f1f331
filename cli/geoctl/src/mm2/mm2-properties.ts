// An mm2.properties file as a map that remembers which keys the conversion used, so every key it
// did not use can be reported ("not carried over") instead of silently dropped.
import { parse } from "dot-properties";

export class Mm2Properties {
  private readonly values: Map<string, string>;
  private readonly used = new Set<string>();

  constructor(text: string) {
    const parsed = parse(text) as Record<string, string>;
    this.values = new Map(Object.entries(parsed).map(([key, value]) => [key.trim(), value.trim()]));
  }

  /** The value of `key`, marking it used. */
  take(key: string): string | undefined {
    const value = this.values.get(key);
    if (value !== undefined) this.used.add(key);
    return value;
  }

  /** The first of `keys` that is set, marking every one of them used. */
  first(keys: readonly string[]): { key: string; value: string } | undefined {
    let found: { key: string; value: string } | undefined;
    for (const key of keys) {
      const value = this.take(key);
      if (value !== undefined && found === undefined) found = { key, value };
    }
    return found;
  }

  /** Every set key among `keys` with its value (for spotting disagreements), marking them used. */
  all(keys: readonly string[]): { key: string; value: string }[] {
    return keys.flatMap((key) => {
      const value = this.take(key);
      return value === undefined ? [] : [{ key, value }];
    });
  }

  keys(): string[] {
    return [...this.values.keys()];
  }

  /** Marks `key` used without reading it (its reason is reported elsewhere). */
  markUsed(key: string): void {
    this.used.add(key);
  }

  unused(): string[] {
    return this.keys().filter((key) => !this.used.has(key));
  }
}

/** MM2's comma-separated lists ("a, b ,c"). */
export function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}
