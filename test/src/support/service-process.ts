// Runs a service's real entry point as a child process, the way operators run it.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { trackProcess } from "@geo/local-runtime";

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

/** Spawns a service and waits for its "started" log line. */
export async function startService(
  service: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 30_000,
): Promise<ServiceProcess> {
  const { child, output, exited } = spawnService(service, args, env);
  const deadline = Date.now() + timeoutMs;
  let endpoints: Record<string, string> | undefined;
  while (endpoints === undefined) {
    for (const line of output) {
      if (!line.startsWith("{")) continue;
      const entry = JSON.parse(line) as { msg?: string; endpoints?: Record<string, string> };
      if (entry.msg === "started") endpoints = entry.endpoints;
    }
    if (endpoints !== undefined) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(
        `${service} did not log "started" within ${timeoutMs} ms (exit ${child.exitCode}); output:\n${output.join("\n")}`,
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
