#!/usr/bin/env node
// Fails when a Kafka broker (java) or redis-server started by the harness is still running.
// Harness servers carry `geo-harness-<run id>-` in their command line (their temp dir), so with
// GEO_HARNESS_RUN set only that run's leftovers count, not a demo running beside the suite; without
// it, any `geo-harness-` process counts. Exiting test processes hand their servers to a watchdog
// that stops them within seconds, so the check waits that long (`--wait <seconds>`, default 20)
// before calling anything an orphan.
import { readdirSync, readFileSync } from "node:fs";

const run = process.env.GEO_HARNESS_RUN;
const marker = run ? `geo-harness-${run}-` : "geo-harness-";
const waitArg = process.argv.indexOf("--wait");
const waitSeconds = waitArg >= 0 ? Number(process.argv[waitArg + 1]) : 20;

function read(path) {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function harnessProcesses() {
  const found = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = read(`/proc/${entry}/cmdline`);
    // A zombie has an empty command line: it has exited and holds nothing.
    if (!cmdline) continue;
    const argv = cmdline.split("\0").filter((arg) => arg !== "");
    const program = (argv[0] ?? "").split("/").pop();
    const comm = (read(`/proc/${entry}/comm`) ?? "").trim();
    const isServer =
      ["java", "redis-server"].includes(program) || ["java", "redis-server"].includes(comm);
    if (isServer && cmdline.includes(marker)) {
      found.push({ pid: Number(entry), command: argv.join(" ") });
    }
  }
  return found;
}

const deadline = Date.now() + waitSeconds * 1000;
let left = harnessProcesses();
if (left.length > 0 && waitSeconds > 0) {
  process.stdout.write(
    `waiting up to ${waitSeconds}s for ${left.length} harness process(es) to exit…\n`,
  );
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    left = harnessProcesses();
  }
}
if (left.length > 0) {
  process.stdout.write(`${left.length} harness process(es) left behind (${marker}):\n`);
  for (const { pid, command } of left) {
    const shown = command.length > 400 ? `${command.slice(0, 400)}…` : command;
    process.stdout.write(`  pid ${pid}: ${shown}\n`);
  }
  process.exit(1);
}
process.stdout.write(`no harness process left (${marker})\n`);
