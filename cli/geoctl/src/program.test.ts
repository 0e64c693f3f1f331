import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Command } from "commander";
import { completionScript } from "./completion";
import { ExitCode } from "./exit-codes";
import { buildProgram } from "./program";
import { referenceMarkdown } from "./reference";

const bin = join(__dirname, "..", "bin", "geoctl.cjs");
const geoctl = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    env: { ...process.env, GEOCTL_CONFIG: "/nonexistent" },
  });

function allCommands(command: Command, path: string[] = []): [string[], Command][] {
  return command.commands.flatMap((sub) => {
    const subPath = [...path, sub.name()];
    return [[subPath, sub] as [string[], Command], ...allCommands(sub, subPath)];
  });
}

describe("geoctl command line", () => {
  it("has --help with a description on every command", () => {
    const commands = allCommands(buildProgram("0"));
    assert.ok(commands.length > 30, `${commands.length} commands`);
    for (const [path, command] of commands) {
      assert.ok(command.description().length > 10, `${path.join(" ")} has a description`);
      assert.match(command.helpInformation(), /-h, --help/, path.join(" "));
    }
    const help = geoctl("flows", "apply", "--help");
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage: geoctl flows apply \[options\]/);
  });

  it("answers a wrong flag or command with one line and exit code 2", () => {
    for (const args of [
      ["flows", "list", "--outptu", "json"],
      ["flws"],
      ["flows", "describe"],
      ["-o", "xml", "flows", "list"],
    ]) {
      const run = geoctl(...args);
      assert.equal(run.status, ExitCode.USAGE, `${args.join(" ")}: ${run.stderr}`);
      assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
      assert.match(run.stderr, /^geoctl: /);
    }
    assert.match(geoctl("flows", "list", "--outptu").stderr, /Did you mean --output\?/);
  });

  it("prints completion scripts that bash accepts and that know the commands", () => {
    const program = buildProgram("0");
    const script = completionScript(program, "bash")!;
    assert.match(script, /"flows apply"\) words="[^"]*--file/);
    const check = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
    assert.equal(check.status, 0, check.stderr);
    assert.match(completionScript(program, "fish")!, /__fish_seen_subcommand_from flows" -a apply/);
    assert.equal(geoctl("completion", "tcsh").status, ExitCode.USAGE);
  });

  it("matches the committed reference (docs/guides/geoctl-reference.md)", () => {
    const committed = readFileSync(
      join(__dirname, "..", "..", "..", "docs", "guides", "geoctl-reference.md"),
      "utf8",
    );
    assert.equal(
      committed,
      referenceMarkdown(buildProgram("0")),
      "run node scripts/geoctl-reference.mjs",
    );
  });
});
