// What every command's action shares: the output format, lazily made clients (closed at the end),
// and turning whatever failed into one line on stderr and a distinct exit code.
import type { DescService } from "@bufbuild/protobuf";
import type { GrpcClient } from "@geo/grpc";
import type { Command } from "commander";
import {
  type Connection,
  type ConnectionFlags,
  connect,
  resolveConnection,
  type ServiceRole,
} from "./connection";
import { type CallTarget, CliError, describeFailure, ExitCode } from "./exit-codes";
import type { OutputFormat } from "./output";

export interface CommandContext {
  readonly format: OutputFormat;
  /** The global connection flags as given on the command line (not resolved). */
  readonly flags: ConnectionFlags;
  connection(): Connection;
  /** A client of the server of `role`; failures of its calls name that server. */
  client<S extends DescService>(role: ServiceRole, service: S): GrpcClient<S>;
  /** Resolves when the user presses Ctrl-C (for --watch and streams). */
  readonly interrupted: AbortSignal;
}

interface GlobalFlags extends ConnectionFlags {
  output: OutputFormat;
}

/** Reports a failure as `geoctl: <one line>` and sets the process's exit code. */
export function fail(error: unknown, target?: CallTarget): void {
  const failure = describeFailure(error, target);
  // Invalid files list one problem per line; everything else is one line.
  const text =
    failure.exitCode === ExitCode.INVALID
      ? failure.message
      : failure.message.replace(/\s*\n\s*/g, " ");
  process.stderr.write(`geoctl: ${text}\n`);
  process.exitCode = failure.exitCode;
}

/**
 * Wraps a command's body: builds its context, runs it, closes clients, maps errors. The body gets
 * the command's arguments followed by its options object, as commander passes them.
 */
export function action<A extends unknown[]>(
  body: (context: CommandContext, ...args: A) => Promise<number | undefined>,
): (...args: [...A, Command]) => Promise<void> {
  return async (...all) => {
    const command = all[all.length - 1] as Command;
    const flags = command.optsWithGlobals() as GlobalFlags;
    // Commander passes the arguments, the command's options, then the command itself.
    const args = all.slice(0, -1) as unknown as A;
    const clients: { close(): void }[] = [];
    let target: CallTarget | undefined;
    let connection: Connection | undefined;
    const abort = new AbortController();
    // Ctrl-C ends watches cleanly (exit 0); a command that does not stop within a moment (a call
    // waiting for its deadline) is ended with the shell's usual 130.
    const onInterrupt = () => {
      abort.abort();
      setTimeout(() => process.exit(130), 1_500).unref();
    };
    process.once("SIGINT", onInterrupt);
    const context: CommandContext = {
      format: flags.output,
      flags,
      connection: () => {
        connection ??= resolveConnection(flags);
        return connection;
      },
      client: (role, service) => {
        const resolved = context.connection();
        target = { service: role, address: resolved.addresses[role] };
        const client = connect(resolved, role, service);
        clients.push(client);
        return client;
      },
      interrupted: abort.signal,
    };
    try {
      const code = await body(context, ...args);
      if (code !== undefined && code !== ExitCode.OK) process.exitCode = code;
    } catch (error) {
      fail(error, error instanceof CliError ? undefined : target);
    } finally {
      process.removeListener("SIGINT", onInterrupt);
      for (const client of clients) client.close();
    }
  };
}
