// geoctl config validate: every problem of a config file with its path (and line), with the
// services' own validation (@geo/config), so what passes here is what the services accept.
import { ConfigError, loadConfig } from "@geo/config";
import type { Command } from "commander";
import { ExitCode } from "../exit-codes";
import { emit, renderTable } from "../output";
import { action } from "../runtime";

export function registerConfigCommands(program: Command): void {
  const config = program.command("config").description("the services' YAML configuration file");
  config
    .command("validate <file>")
    .description(
      "check a config file as the services would load it (variables from this environment); lists every problem with its path; exit 6 when invalid",
    )
    .action(
      action(async (context, file: string) => {
        try {
          const loaded = loadConfig({ path: file });
          const clusters = Object.keys(loaded.clusters).length;
          emit(
            context.format,
            { valid: true, file, clusters, flows: loaded.flows.length, problems: [] },
            () => `${file} is valid: ${clusters} cluster(s), ${loaded.flows.length} flow(s)`,
          );
          return undefined;
        } catch (error) {
          if (!ConfigError.is(error)) throw error;
          const problems = error.issues.map((issue) => ({
            path: issue.path,
            message: issue.message,
            ...(issue.line === undefined ? {} : { line: issue.line }),
            ...(issue.column === undefined ? {} : { column: issue.column }),
          }));
          emit(
            context.format,
            { valid: false, file, problems },
            () =>
              `${renderTable(
                ["path", "line", "problem"],
                problems.map((p) => [p.path || "(file)", p.line ?? "", p.message]),
              )}\n${file}: ${problems.length} problem(s)`,
          );
          return ExitCode.INVALID;
        }
      }),
    );
}
