// geoctl import mm2: MirrorMaker 2's mm2.properties as geo's YAML, with every setting that does
// not carry over listed on stderr with its reason.
import { readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { CliError, ExitCode } from "../exit-codes";
import { convertMm2 } from "../mm2/convert-mm2";
import { emit, type JsonValue } from "../output";
import { action } from "../runtime";

export function registerImportCommands(program: Command): void {
  const importCommand = program
    .command("import")
    .description("convert other tools' configurations");
  importCommand
    .command("mm2 <mm2.properties>")
    .description(
      "convert a MirrorMaker 2 (dedicated mode) config: clusters, security, enabled A->B flows with their topic filters, naming and start position; prints the YAML and, on stderr, every setting not carried over and why",
    )
    .option("--out <file>", "write the YAML to this file instead of stdout")
    .action(
      action(async (context, file: string, options: { out?: string }) => {
        let text: string;
        try {
          text = readFileSync(file, "utf8");
        } catch (error) {
          throw new CliError(`cannot read ${file}: ${(error as Error).message}`, ExitCode.INVALID);
        }
        const result = convertMm2(text, file);
        if (context.format !== "table") {
          emit(context.format, result as unknown as JsonValue, () => "");
        } else {
          if (options.out === undefined) process.stdout.write(result.yaml);
          else writeFileSync(options.out, result.yaml);
          const say = (line: string) => process.stderr.write(`${line}\n`);
          for (const { key, reason } of result.dropped) say(`not carried over: ${key}: ${reason}`);
          for (const { key, note } of result.notes) say(`note: ${key}: ${note}`);
          if (result.env.length > 0)
            say(`set before starting the services: ${result.env.join(", ")}`);
          for (const problem of result.problems)
            say(`problem: ${problem.path}: ${problem.message}`);
          say(
            `${result.config.flows.length} flow(s), ${Object.keys(result.config.clusters).length} cluster(s); ${result.dropped.length} setting(s) not carried over${options.out === undefined ? "" : `; written to ${options.out}`}`,
          );
        }
        return result.problems.length > 0 ? ExitCode.INVALID : undefined;
      }),
    );
}
