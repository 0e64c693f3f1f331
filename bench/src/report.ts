import { cpus } from "node:os";

export type Figure = string | number | boolean | null;
/** One line of a benchmark's results: column name to figure. */
export type Row = Readonly<Record<string, Figure>>;

export interface ReportOptions {
  /** Column order; defaults to the keys of the rows in order of first appearance. */
  readonly columns?: readonly string[];
  /** Where the text goes; defaults to stdout. */
  readonly write?: (text: string) => void;
}

/**
 * Prints a benchmark's figures twice: one JSON line (with the machine they were measured on, for
 * tools and for comparing runs) and a markdown table (for people and for pasting into docs).
 */
export function printReport(
  benchmark: string,
  rows: readonly Row[],
  options: ReportOptions = {},
): void {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const columns = options.columns ?? columnsOf(rows);
  write(`${JSON.stringify(reportJson(benchmark, rows))}\n\n`);
  write(`### ${benchmark}\n\n${formatTable(rows, columns)}\n`);
}

export function reportJson(benchmark: string, rows: readonly Row[]) {
  const cpu = cpus();
  return {
    benchmark,
    measuredAt: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? "unknown",
    rows,
  };
}

export function formatTable(
  rows: readonly Row[],
  columns: readonly string[] = columnsOf(rows),
): string {
  const header = `| ${columns.map(escapeCell).join(" | ")} |`;
  const rule = `| ${columns.map((column) => (isNumericColumn(rows, column) ? "---:" : "---")).join(" | ")} |`;
  const body = rows.map(
    (row) => `| ${columns.map((column) => escapeCell(formatFigure(row[column]))).join(" | ")} |`,
  );
  return [header, rule, ...body].join("\n");
}

/** Integers as they are, other numbers to four significant digits (one decimal from 1000 up). */
export function formatFigure(value: Figure | undefined): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1000 ? value.toFixed(1) : value.toPrecision(4);
}

function columnsOf(rows: readonly Row[]): string[] {
  const columns = new Set<string>();
  for (const row of rows) for (const column of Object.keys(row)) columns.add(column);
  return [...columns];
}

function isNumericColumn(rows: readonly Row[], column: string): boolean {
  return rows.some((row) => typeof row[column] === "number");
}

function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}
