// How results are printed: human tables by default, `--output json|yaml` for scripts. JSON is the
// canonical proto3 JSON mapping of the response messages (int64 as decimal strings, enums by
// name, every field present), so scripts see the same field names as `buf curl`.
import { type DescMessage, type MessageShape, toJson } from "@bufbuild/protobuf";
import Table from "cli-table3";
import { stringify } from "yaml";

export type OutputFormat = "table" | "json" | "yaml";
export const OUTPUT_FORMATS: readonly OutputFormat[] = ["table", "json", "yaml"];

export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** A response message as proto3 JSON with every field present. */
export function messageJson<D extends DescMessage>(schema: D, message: MessageShape<D>): JsonValue {
  return toJson(schema, message, { alwaysEmitImplicit: true }) as JsonValue;
}

/** Prints `data` as JSON or YAML, or the human form `table()` returns. */
export function emit(format: OutputFormat, data: JsonValue, table: () => string): void {
  const text =
    format === "json"
      ? JSON.stringify(data, null, 2)
      : format === "yaml"
        ? stringify(data, { lineWidth: 0 }).trimEnd()
        : table();
  process.stdout.write(`${text}\n`);
}

/** A borderless, left-aligned table like kubectl's. */
export function renderTable(
  head: readonly string[],
  rows: readonly (readonly unknown[])[],
): string {
  if (rows.length === 0) return "(none)";
  const table = new Table({
    head: head.map((title) => title.toUpperCase()),
    chars: {
      top: "",
      "top-mid": "",
      "top-left": "",
      "top-right": "",
      bottom: "",
      "bottom-mid": "",
      "bottom-left": "",
      "bottom-right": "",
      left: "",
      "left-mid": "",
      mid: "",
      "mid-mid": "",
      right: "",
      "right-mid": "",
      middle: "  ",
    },
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0, compact: true },
  });
  for (const row of rows) table.push(row.map((cell) => (cell === undefined ? "" : String(cell))));
  return table
    .toString()
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n");
}

/** "key: value" lines for one object, aligned. */
export function renderFields(fields: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(...fields.map(([key]) => key.length)) + 2;
  return fields
    .map(([key, value]) => `${`${key}:`.padEnd(width)}${value === undefined ? "" : String(value)}`)
    .join("\n");
}

/** A protobuf Timestamp as an ISO time, or "" when absent. */
export function timeText(timestamp: { seconds: bigint; nanos: number } | undefined): string {
  if (timestamp === undefined) return "";
  const ms = Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1e6);
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A protobuf Duration in seconds with one decimal ("1.5s"), or "" when absent. */
export function durationText(duration: { seconds: bigint; nanos: number } | undefined): string {
  if (duration === undefined) return "";
  return `${(Number(duration.seconds) + duration.nanos / 1e9).toFixed(1)}s`;
}

/** A generated TypeScript enum's value by name, lower case: NamingPolicy.PREFIX -> "prefix". */
export function enumText(names: Record<number, string>, value: number): string {
  return (names[value] ?? String(value)).toLowerCase();
}
