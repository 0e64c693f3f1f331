import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { isProcessAlive } from "./process-state";
import { trackProcess, untrackProcess } from "./reaper";

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why the process could not be spawned at all (e.g. `spawn java ENOENT`). */
  error?: string;
}

/** "exit 1", "SIGKILL" or the spawn error, for messages. */
export function describeExit(exit: ProcessExit): string {
  return exit.error ?? (exit.code !== null ? `exit ${exit.code}` : String(exit.signal));
}

/** A child process the reaper knows about: it dies with us even if we are SIGKILLed. */
export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly running: boolean;
  readonly exited: Promise<ProcessExit>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  terminate(graceMs: number): Promise<ProcessExit>;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<ProcessExit>;
}

/**
 * Spawn without a shell, in a new process group (`detached`) so a Ctrl-C aimed at the parent
 * reaches the parent only and shutdown order stays ours. The child never holds the parent's
 * event loop open; the reaper covers the case where nobody stops it.
 */
export function spawnManaged(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { keepAlive?: boolean },
): ManagedProcess {
  const child = spawn(command, args, { ...options, detached: true });
  let running = true;
  let resolveExit!: (exit: ProcessExit) => void;
  const exited = new Promise<ProcessExit>((resolve) => {
    resolveExit = resolve;
  });
  const pid = child.pid;
  child.on("exit", (code, signal) => {
    running = false;
    if (pid !== undefined) untrackProcess(pid);
    resolveExit({ code, signal });
  });
  child.on("error", (error) => {
    if (pid !== undefined) return; // An error after a successful spawn still ends in "exit".
    running = false;
    resolveExit({ code: null, signal: null, error: error.message });
  });
  if (pid === undefined) {
    running = false;
    // Let the caller see the spawn error through "error"; keep the promise contract.
  } else {
    trackProcess(pid);
  }
  if (!options.keepAlive) child.unref();

  // The child is unref'd, so a caller awaiting its exit must hold the event loop open meanwhile,
  // or Node would end with the promise pending.
  async function held<T>(wait: Promise<T>): Promise<T> {
    child.ref();
    try {
      return await wait;
    } finally {
      if (!options.keepAlive) child.unref();
    }
  }

  async function waitExit(ms: number): Promise<boolean> {
    if (!running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const done = await Promise.race([exited.then(() => true), timeout]);
    clearTimeout(timer);
    return done;
  }

  const managed: ManagedProcess = {
    child,
    pid: pid ?? -1,
    get running() {
      return running && pid !== undefined && isProcessAlive(pid);
    },
    exited,
    terminate(graceMs) {
      if (running) child.kill("SIGTERM");
      return held(
        waitExit(graceMs).then((done) => {
          if (!done) child.kill("SIGKILL");
          return exited;
        }),
      );
    },
    kill() {
      if (running) child.kill("SIGKILL");
      return held(exited);
    },
  };
  return managed;
}
