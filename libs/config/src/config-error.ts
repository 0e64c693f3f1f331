import { CodedError } from "@geo/errors";

/** One problem found in a configuration. */
export interface ConfigIssue {
  /** Where, e.g. "flows[1].topics.include[0]"; "" for the file as a whole. */
  readonly path: string;
  /** What is wrong and how to fix it. Never contains a secret value. */
  readonly message: string;
  /** 1-based line in the source file, when known. */
  readonly line?: number;
  /** 1-based column in the source file, when known. */
  readonly column?: number;
}

/**
 * A configuration that cannot be used. Carries every issue found, not only the first, so an
 * operator fixes the file in one round. Not retriable: the same input fails the same way.
 */
export class ConfigError extends CodedError<"INVALID_CONFIG"> {
  readonly issues: readonly ConfigIssue[];
  /** The file (or source label) the issues refer to. */
  readonly source: string;

  constructor(source: string, issues: readonly ConfigIssue[]) {
    super("INVALID_CONFIG", formatIssues(source, issues));
    this.source = source;
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue })));
  }

  /** True for a ConfigError, also one from another copy of this package. */
  static is(value: unknown): value is ConfigError {
    return (
      value instanceof ConfigError ||
      (value instanceof Error &&
        (value as { code?: unknown }).code === "INVALID_CONFIG" &&
        Array.isArray((value as { issues?: unknown }).issues))
    );
  }
}

function formatIssues(source: string, issues: readonly ConfigIssue[]): string {
  const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
  const lines = issues.map((issue) => {
    const position = issue.line === undefined ? "" : `line ${issue.line}${columnSuffix(issue)}`;
    let prefix = "";
    if (issue.path !== "" && position !== "") prefix = `${issue.path} (${position}): `;
    else if (issue.path !== "") prefix = `${issue.path}: `;
    else if (position !== "") prefix = `${position}: `;
    return `  - ${prefix}${issue.message}`;
  });
  return `invalid configuration in ${source} (${count}):\n${lines.join("\n")}`;
}

function columnSuffix(issue: ConfigIssue): string {
  return issue.column === undefined ? "" : `, column ${issue.column}`;
}
