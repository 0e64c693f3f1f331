// geoctl's exit codes: distinct per kind of failure, so scripts can tell "no such flow" from
// "server down" without parsing messages. Documented in the README and `geoctl --help`.
import { CodedError } from "@geo/errors";
import { Code, GeoError } from "@geo/grpc";

export const ExitCode = {
  OK: 0,
  /** Anything not listed below (an internal server error, a bug). */
  FAILURE: 1,
  /** The command line is wrong: unknown command or flag, missing or bad argument. */
  USAGE: 2,
  /** The named flow, cluster, unit or flow group does not exist (NOT_FOUND). */
  NOT_FOUND: 3,
  /** The server cannot be reached, or did not answer in time (UNAVAILABLE, DEADLINE_EXCEEDED). */
  UNREACHABLE: 4,
  /** The system's state refuses the change (FAILED_PRECONDITION, ABORTED, ALREADY_EXISTS). */
  FAILED_PRECONDITION: 5,
  /** The input was refused: bad flow or config file, or INVALID_ARGUMENT from the server. */
  INVALID: 6,
  /** The server does not offer this operation yet (UNIMPLEMENTED). */
  UNIMPLEMENTED: 7,
  /** Not authenticated or not allowed (UNAUTHENTICATED, PERMISSION_DENIED). */
  DENIED: 8,
  /** `flows diff`: the file and the running state differ (like diff(1) and kubectl diff). */
  DIFFERENT: 10,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODE_HELP = `Exit codes:
  0  success            4  server unreachable or timed out    7  not implemented by the server
  1  other failure      5  refused by the current state       8  not authenticated or not allowed
  2  usage error        6  invalid input (file, flag value)   10 flows diff: differences found
  3  not found          130 interrupted by Ctrl-C (status --watch and watch end with 0)`;

const BY_CODE = new Map<Code, ExitCode>([
  [Code.NOT_FOUND, ExitCode.NOT_FOUND],
  [Code.UNAVAILABLE, ExitCode.UNREACHABLE],
  [Code.DEADLINE_EXCEEDED, ExitCode.UNREACHABLE],
  [Code.FAILED_PRECONDITION, ExitCode.FAILED_PRECONDITION],
  [Code.ABORTED, ExitCode.FAILED_PRECONDITION],
  [Code.ALREADY_EXISTS, ExitCode.FAILED_PRECONDITION],
  [Code.INVALID_ARGUMENT, ExitCode.INVALID],
  [Code.OUT_OF_RANGE, ExitCode.INVALID],
  [Code.UNIMPLEMENTED, ExitCode.UNIMPLEMENTED],
  [Code.UNAUTHENTICATED, ExitCode.DENIED],
  [Code.PERMISSION_DENIED, ExitCode.DENIED],
]);

const EXIT_CODE_NAMES = new Map<number, string>(
  Object.entries(ExitCode).map(([name, value]) => [value, name]),
);

/** An error geoctl reports as one line and exits with `exitCode`; its code is the exit code's name. */
export class CliError extends CodedError {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(EXIT_CODE_NAMES.get(exitCode) ?? "FAILURE", message);
  }
}

/** Whom a failed call was addressed to, so "unreachable" says which server and how to change it. */
export interface CallTarget {
  service: "coordinator" | "offsets" | "health";
  address: string;
}

const TRANSPORT_FAILURE =
  /\b(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN)\b/;

const SERVICE_NAMES: Record<CallTarget["service"], string> = {
  coordinator: "coordinator",
  offsets: "offset-translation service",
  health: "health service",
};

/** The one line and exit code for anything a command threw. */
export function describeFailure(error: unknown, target?: CallTarget): CliError {
  if (error instanceof CliError) return error;
  const geo = GeoError.from(error);
  const exitCode = BY_CODE.get(geo.code) ?? ExitCode.FAILURE;
  const firstLine = (geo.message.split("\n", 1)[0] ?? "").trim();
  const http = /Received HTTP status code (\d+)/.exec(firstLine)?.[1];
  if (target !== undefined && http !== undefined) {
    return new CliError(
      `${target.address} is not the ${target.service}'s gRPC port (it answered HTTP ${http}); set it with --${target.service}`,
      ExitCode.UNREACHABLE,
    );
  }
  if (target !== undefined && exitCode === ExitCode.UNREACHABLE) {
    // grpc-js's text is long ("No connection established. Last error: ..."); the errno says it.
    const errno = TRANSPORT_FAILURE.exec(firstLine)?.[1];
    if (errno !== undefined || /No connection established|Deadline exceeded/i.test(firstLine)) {
      const why =
        errno ??
        (geo.code === Code.DEADLINE_EXCEEDED ? "no answer before the deadline" : "no connection");
      return new CliError(
        `cannot reach the ${SERVICE_NAMES[target.service]} at ${target.address} (${why}); set it with --${target.service}, GEOCTL_${target.service.toUpperCase()} or a context (geoctl context --help)`,
        exitCode,
      );
    }
    // The server answered: it cannot serve right now, and says why.
    return new CliError(
      `the ${SERVICE_NAMES[target.service]} at ${target.address} is unavailable: ${firstLine}`,
      exitCode,
    );
  }
  if (geo.code === Code.UNIMPLEMENTED) {
    const where =
      target === undefined
        ? "the server"
        : `the ${SERVICE_NAMES[target.service]} at ${target.address}`;
    return new CliError(
      `${where} does not offer this yet: ${firstLine || "UNIMPLEMENTED"}`,
      exitCode,
    );
  }
  return new CliError(firstLine || geo.name, exitCode);
}
