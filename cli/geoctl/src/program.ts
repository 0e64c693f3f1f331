// The geoctl command tree. Every command gets --help; usage errors print one line and exit 2.
import { Command, Option } from "commander";
import { registerConfigCommands } from "./commands/config";
import { registerContextCommands } from "./commands/context";
import { registerDrillCommand } from "./commands/drill";
import { registerFlowCommands } from "./commands/flows";
import { registerImportCommands } from "./commands/import";
import { registerInventoryCommands } from "./commands/inventory";
import { registerOffsetCommands } from "./commands/offsets";
import { registerRegionCommands } from "./commands/regions";
import { registerStatusCommand } from "./commands/status";
import { completionScript } from "./completion";
import { CliError, EXIT_CODE_HELP, ExitCode } from "./exit-codes";
import { OUTPUT_FORMATS } from "./output";
import { fail } from "./runtime";

const ENVIRONMENT_HELP = `Connection settings, first found wins: flags, then GEOCTL_COORDINATOR, GEOCTL_OFFSETS,
GEOCTL_HEALTH, GEOCTL_TLS=1, GEOCTL_CA, GEOCTL_CERT, GEOCTL_KEY, GEOCTL_ACTOR, GEOCTL_TIMEOUT,
GEOCTL_CONTEXT, then the current context of the context file (geoctl context --help), then
127.0.0.1:7100 / :7200 / :7300 in plaintext.`;

/** One line for commander's own errors (unknown flag, missing argument, ...). */
function usageLine(text: string): string {
  const body = text
    .replace(/^error: /, "")
    .replace(/\s*\n\s*/g, " ")
    .trim();
  return `geoctl: ${body}; see --help\n`;
}

export function buildProgram(version: string): Command {
  const program = new Command("geoctl");
  program
    .description(
      "command line for geo-replication: flows, status, offsets and region failover over the services' gRPC APIs",
    )
    .version(version, "-V, --version")
    .addOption(
      new Option("-o, --output <format>", "output format").choices(OUTPUT_FORMATS).default("table"),
    )
    .option("--coordinator <host:port>", "coordinator address (default 127.0.0.1:7100)")
    .option("--offsets <host:port>", "offset-translation service address (default 127.0.0.1:7200)")
    .option("--health <host:port>", "health/failover service address (default 127.0.0.1:7300)")
    .option("--context <name>", "use this context of the context file")
    .option("--tls", "connect with TLS (system CAs unless --ca)")
    .option("--ca <file>", "PEM CA bundle for the servers' certificates (implies --tls)")
    .option("--cert <file>", "PEM client certificate, with --key (mutual TLS)")
    .option("--key <file>", "PEM client key, with --cert")
    .option("--actor <name>", "who you are, recorded in flow history (default cli:<user>)")
    .option("--timeout <ms>", "deadline of each call in milliseconds (default 10000)")
    .showSuggestionAfterError(true)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(usageLine(text)) })
    .addHelpText("after", `\n${ENVIRONMENT_HELP}\n\n${EXIT_CODE_HELP}\n`);
  registerStatusCommand(program);
  registerFlowCommands(program);
  registerInventoryCommands(program);
  registerOffsetCommands(program);
  registerRegionCommands(program);
  registerDrillCommand(program);
  registerConfigCommands(program);
  registerImportCommands(program);
  registerContextCommands(program);
  program
    .command("completion <shell>")
    .description("print a completion script: bash, zsh or fish (source <(geoctl completion bash))")
    .action((shell: string) => {
      const script = completionScript(program, shell);
      if (script === undefined) {
        fail(new CliError(`no completion for "${shell}": use bash, zsh or fish`, ExitCode.USAGE));
        return;
      }
      process.stdout.write(script);
    });
  return program;
}

const SUCCESS_CODES = new Set(["commander.helpDisplayed", "commander.version"]);

/** Runs geoctl with `argv` (process.argv shape); sets process.exitCode. */
export async function runGeoctl(argv: readonly string[], version: string): Promise<void> {
  const program = buildProgram(version);
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (typeof code === "string" && code.startsWith("commander.")) {
      process.exitCode = SUCCESS_CODES.has(code) ? ExitCode.OK : ExitCode.USAGE;
      return;
    }
    fail(error);
  }
}
