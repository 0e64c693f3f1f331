// Runs a service's real entry point as a child process, the way operators run it.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { progressWatch, trackProcess } from "@geo/local-runtime";

const root = join(__dirname, "..", "..", "..");

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Every line the process wrote (stdout and stderr), for assertions and failure reports. */
  readonly output: string[];
  /** The endpoints from the service's "started" log line. */
  readonly endpoints: Record<string, string>;
  /** SIGTERM, then the exit code (null and the signal when killed). */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function serviceEntry(service: string): string {
  return join(root, "services", service, "dist", "main.js");
}

/** Spawns `node services/<service>/dist/main.js <args>` without waiting for it to start. */
export function spawnService(
  service: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; output: string[]; exited: ServiceProcess["exited"] } {
  const child = spawn(process.execPath, [serviceEntry(service), ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // A test process that dies mid-run must not leave services behind.
  if (child.pid !== undefined) trackProcess(child.pid);
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (stream !== null) createInterface({ input: stream }).on("line", (line) => output.push(line));
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, output, exited };
}

/** Past its start bound, a service that still uses CPU (starved, not stuck) gets this many in all. */
const STARVED_BOUNDS = 3;

/**
 * Spawns a service and waits for its "started" log line: within `timeoutMs`, or up to three
 * times as long while the process keeps using CPU (a loaded machine starves it; a stuck one
 * that used no CPU for 30 s fails at the bound).
 */
export async function startService(
  service: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 30_000,
): Promise<ServiceProcess> {
  const { child, output, exited } = spawnService(service, args, env);
  const started = Date.now();
  const working = progressWatch(() => [child.pid]);
  let endpoints: Record<string, string> | undefined;
  while (endpoints === undefined) {
    for (const line of output) {
      if (!line.startsWith("{")) continue;
      const entry = JSON.parse(line) as { msg?: string; endpoints?: Record<string, string> };
      if (entry.msg === "started") endpoints = entry.endpoints;
    }
    if (endpoints !== undefined) break;
    const elapsed = Date.now() - started;
    const busy = working();
    if (
      child.exitCode !== null ||
      (elapsed > timeoutMs && (elapsed > STARVED_BOUNDS * timeoutMs || !busy))
    ) {
      child.kill("SIGKILL");
      throw new Error(
        `${service} did not log "started" within ${elapsed} ms (bound ${timeoutMs} ms, longer while it uses CPU; exit ${child.exitCode}); output:\n${output.join("\n")}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    child,
    output,
    endpoints,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
