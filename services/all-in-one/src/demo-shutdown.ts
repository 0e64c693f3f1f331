// How the demo ends: the first Ctrl-C (or SIGTERM) stops sample traffic, the services (bounded,
// see demo-child.ts), then the local clusters and Redis, and exits 0 when all of that went
// cleanly. A second Ctrl-C more than a second later (the first one can arrive twice: from the
// terminal and forwarded by npm) kills the services at once and exits 130. A watchdog ends the
// process if stopping takes longer than SHUTDOWN_BOUND_MS whatever hangs; the harness's reaper
// then ends what this process started.
import type { ChildProcess } from "node:child_process";
import { stopAll } from "@geo/local-runtime";
import { killChild, stopChild } from "./demo-child";

/** How long the services get to stop after SIGTERM before they are killed. */
export const SERVICES_STOP_BOUND_MS = 5_000;
const TRAFFIC_STOP_BOUND_MS = 3_000;
const SHUTDOWN_BOUND_MS = 25_000;
const REPEATED_SIGNAL_MS = 1_000;

export interface DemoShutdown {
  /** The services' process, once spawned. */
  setChild(child: ChildProcess): void;
  setStopTraffic(stop: () => Promise<void>): void;
  readonly stopping: boolean;
  /** Stops everything and exits with `code` (or 1 when something had to be killed). */
  shutdown(code: number): Promise<void>;
}

const bounded = (promise: Promise<unknown>, ms: number) =>
  Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => setTimeout(resolve, ms).unref()),
  ]);

export function createDemoShutdown(say: (line: string) => void): DemoShutdown {
  let child: ChildProcess | undefined;
  let stopTraffic: () => Promise<void> = async () => {};
  let stoppingSince: number | undefined;

  const shutdown = async (code: number) => {
    if (stoppingSince !== undefined) return;
    stoppingSince = Date.now();
    say("\nstopping the services, Kafka clusters and Redis…");
    setTimeout(() => {
      process.stderr.write(`could not stop within ${SHUTDOWN_BOUND_MS / 1000} s; exiting\n`);
      if (child !== undefined) killChild(child);
      process.exit(1);
    }, SHUTDOWN_BOUND_MS).unref();
    let exitCode = code;
    await bounded(stopTraffic(), TRAFFIC_STOP_BOUND_MS);
    if (child !== undefined && (await stopChild(child, SERVICES_STOP_BOUND_MS)) === "killed") {
      say(
        `the services did not stop within ${SERVICES_STOP_BOUND_MS / 1000} s of SIGTERM and were killed`,
      );
      exitCode = exitCode || 1;
    }
    try {
      await stopAll();
    } catch (error) {
      process.stderr.write(`stopping the local clusters: ${(error as Error).message}\n`);
      exitCode = exitCode || 1;
    }
    say("stopped.");
    process.exit(exitCode);
  };

  const onSignal = () => {
    if (stoppingSince === undefined) {
      void shutdown(0);
    } else if (Date.now() - stoppingSince > REPEATED_SIGNAL_MS) {
      say("second interrupt: killing the services now");
      if (child !== undefined) killChild(child);
      void bounded(stopAll(), 5_000).then(() => process.exit(130));
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  return {
    setChild: (spawned) => {
      child = spawned;
    },
    setStopTraffic: (stop) => {
      stopTraffic = stop;
    },
    get stopping() {
      return stoppingSince !== undefined;
    },
    shutdown,
  };
}
