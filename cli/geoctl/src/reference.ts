// The command reference in Markdown, generated from the command tree (docs/guides/geoctl-reference.md),
// so the documentation lists exactly the commands and options geoctl has.
import type { Command } from "commander";
import { EXIT_CODE_HELP } from "./exit-codes";

function section(command: Command, path: string): string {
  const usage = `geoctl ${path} ${command.usage()}`.replace(/\s+/g, " ").trim();
  const options = command.options
    .map(
      (option) =>
        `| \`${option.flags}\` | ${option.description}${option.defaultValue === undefined || option.defaultValue === false ? "" : ` (default: ${JSON.stringify(option.defaultValue)})`} |`,
    )
    .join("\n");
  return [
    `### geoctl ${path}`,
    "",
    command.description(),
    "",
    "```",
    usage,
    "```",
    ...(options === "" ? [] : ["", "| option | |", "|---|---|", options]),
    "",
  ].join("\n");
}

export function referenceMarkdown(program: Command): string {
  const parts: string[] = [
    "# geoctl reference",
    "",
    "Generated from the command tree (`node scripts/geoctl-reference.mjs`); see",
    "[cli/geoctl/README.md](../../cli/geoctl/README.md) for connecting, output formats and examples.",
    "",
    "## Global options",
    "",
    "| option | |",
    "|---|---|",
    ...program.options.map((option) => `| \`${option.flags}\` | ${option.description} |`),
    "",
    "## Exit codes",
    "",
    "```",
    EXIT_CODE_HELP,
    "```",
    "",
    "## Commands",
    "",
  ];
  const visit = (command: Command, path: string) => {
    if (command.commands.length === 0 || path !== "") parts.push(section(command, path));
    for (const sub of command.commands)
      visit(sub, path === "" ? sub.name() : `${path} ${sub.name()}`);
  };
  for (const sub of program.commands) visit(sub, sub.name());
  return `${parts.join("\n").trimEnd()}\n`;
}
