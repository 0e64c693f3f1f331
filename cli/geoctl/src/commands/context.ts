// geoctl context: named connection settings in a small YAML file, like kubectl's contexts.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Command } from "commander";
import { stringify } from "yaml";
import {
  type ContextEntry,
  type ContextFile,
  contextFilePath,
  readContextFile,
} from "../connection";
import { CliError, ExitCode } from "../exit-codes";
import { emit, type JsonValue, renderTable } from "../output";
import { action } from "../runtime";

function save(path: string, file: ContextFile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, stringify(file), { mode: 0o600 });
}

export function registerContextCommands(program: Command): void {
  const context = program
    .command("context")
    .description(
      "named server addresses and TLS settings, kept in ~/.config/geoctl/contexts.yaml ($GEOCTL_CONFIG moves it)",
    );
  context
    .command("list")
    .alias("ls")
    .description("the contexts; * marks the current one")
    .action(
      action(async (ctx) => {
        const file = readContextFile(contextFilePath());
        const names = Object.keys(file.contexts).sort();
        emit(ctx.format, file as unknown as JsonValue, () =>
          renderTable(
            ["current", "name", "coordinator", "offsets", "health", "tls"],
            names.map((name) => {
              const entry = file.contexts[name]!;
              return [
                name === file.current ? "*" : "",
                name,
                entry.coordinator,
                entry.offsets,
                entry.health,
                entry.tls ? "yes" : "no",
              ];
            }),
          ),
        );
        return undefined;
      }),
    );
  context
    .command("set <name>")
    .description(
      "create or change a context from the global flags given with it: geoctl --coordinator host:7100 --ca ca.pem context set prod --use",
    )
    .option("--use", "make it the current context", false)
    .action(
      action(async (ctx, name: string, options: { use: boolean }) => {
        const given = ctx.flags;
        const path = contextFilePath();
        const file = readContextFile(path);
        const entry: ContextEntry = { ...file.contexts[name] };
        for (const key of ["coordinator", "offsets", "health", "actor"] as const) {
          if (given[key] !== undefined) entry[key] = given[key];
        }
        if (given.tls || given.ca || given.cert || given.key) {
          const before = typeof entry.tls === "object" ? entry.tls : {};
          entry.tls = {
            ...before,
            ...(given.ca && { ca: given.ca }),
            ...(given.cert && { cert: given.cert }),
            ...(given.key && { key: given.key }),
          };
        }
        file.contexts[name] = entry;
        if (options.use || file.current === undefined) file.current = name;
        save(path, file);
        emit(
          ctx.format,
          { name, ...entry } as JsonValue,
          () => `context "${name}" saved in ${path}${file.current === name ? " (current)" : ""}`,
        );
        return undefined;
      }),
    );
  context
    .command("use <name>")
    .description("make a context the current one")
    .action(
      action(async (ctx, name: string) => {
        const path = contextFilePath();
        const file = readContextFile(path);
        if (file.contexts[name] === undefined) {
          throw new CliError(
            `no context "${name}" in ${path}; contexts: ${Object.keys(file.contexts).sort().join(", ") || "none"}`,
            ExitCode.NOT_FOUND,
          );
        }
        file.current = name;
        save(path, file);
        emit(ctx.format, { current: name }, () => `current context: ${name}`);
        return undefined;
      }),
    );
  context
    .command("show")
    .description("the settings geoctl would use now, after flags, environment and context")
    .action(
      action(async (ctx) => {
        const connection = ctx.connection();
        emit(ctx.format, connection as unknown as JsonValue, () =>
          renderTable(
            ["setting", "value"],
            [
              ["context", connection.context ?? "(none)"],
              ...Object.entries(connection.addresses),
              ["tls", connection.tls === undefined ? "off" : JSON.stringify(connection.tls)],
              ["actor", connection.actor],
              ["timeout ms", connection.timeoutMs],
            ],
          ),
        );
        return undefined;
      }),
    );
}
