import { Code } from "./code.js";
import { GeoError } from "./geo-error.js";
import type { GrpcLogger } from "./logger.js";

/** A dependency a server needs to do its work (Redis, a Kafka cluster, the leader lease...). */
export interface HealthProbe {
  /** Short name for logs and {@link HealthMonitor.failures}, e.g. `redis`. */
  readonly name: string;
  /** Resolves when the dependency answers; rejects (or outlives the timeout) when it does not. */
  check(signal: AbortSignal): Promise<void>;
  /**
   * Fully-qualified names of the services that need this dependency; a failure makes only these
   * NOT_SERVING (and always the overall ""). Default: every service.
   */
  readonly services?: readonly string[];
}

/** What `grpc.health.v1.Health` reports for a service. */
export type ServingStatus = "SERVING" | "NOT_SERVING";

/** A failed probe, as last seen. */
export interface ProbeFailure {
  readonly probe: string;
  readonly message: string;
}

/** Options of the health monitor every server runs. */
export interface HealthOptions {
  /** Dependencies; with none, the server is SERVING as soon as it listens. */
  probes?: readonly HealthProbe[];
  /** Time between probe rounds (default 5000). */
  intervalMs?: number;
  /** A probe that takes longer has failed (default: the interval, at most 5000). */
  probeTimeoutMs?: number;
}

/** The serving status of a server, per service name and overall (""). */
export interface HealthMonitor {
  /** Status of a service ("" for the server); undefined for a name the server does not serve. */
  status(service?: string): ServingStatus | undefined;
  /** Every known service name (and "") with its status. */
  statuses(): ReadonlyMap<string, ServingStatus>;
  /** Probes failing at the last round, or not answered yet. */
  failures(): readonly ProbeFailure[];
  /** Runs every probe now and resolves when the statuses reflect the results. */
  checkNow(): Promise<void>;
  /** Calls `listener` whenever any status changes; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

type ProbeResult = { ok: true } | { ok: false; message: string };

/** @internal The monitor with the controls the server itself uses. */
export interface ServerHealthMonitor extends HealthMonitor {
  addService(name: string): void;
  start(): void;
  shutdown(): void;
}

/** @internal */
export function createHealthMonitor(
  options: HealthOptions,
  logger: GrpcLogger,
): ServerHealthMonitor {
  const { probes, intervalMs, probeTimeoutMs } = healthSettings(options);
  const rounds = createProbeRounds(probes, probeTimeoutMs);
  let started = false;
  let shutDown = false;
  let timer: NodeJS.Timeout | undefined;
  const board = createStatusBoard(logger, rounds, () => started && !shutDown);

  async function runRound(): Promise<void> {
    await rounds.run();
    if (!shutDown) board.publish();
  }

  function schedule(): void {
    if (shutDown || probes.length === 0) return;
    timer = setTimeout(() => {
      runRound().finally(schedule);
    }, intervalMs);
    timer.unref();
  }

  return {
    status: (service = "") => board.status(service),
    statuses: () => board.statuses(),
    failures: () => rounds.failures(),
    async checkNow() {
      if (shutDown) return;
      await runRound();
    },
    onChange: (listener) => board.onChange(listener),
    addService: (name) => board.addService(name),
    start() {
      if (started || shutDown) return;
      started = true;
      board.publish();
      if (probes.length > 0) runRound().finally(schedule);
    },
    shutdown() {
      if (shutDown) return;
      shutDown = true;
      clearTimeout(timer);
      board.publish();
    },
  };
}

/** The options with their defaults, checked. */
function healthSettings(options: HealthOptions) {
  const probes = options.probes ?? [];
  const intervalMs = options.intervalMs ?? 5000;
  const probeTimeoutMs = options.probeTimeoutMs ?? Math.min(intervalMs, 5000);
  if (!(intervalMs > 0) || !(probeTimeoutMs > 0)) {
    throw new RangeError("health intervalMs and probeTimeoutMs must be positive");
  }
  const names = new Set(probes.map((probe) => probe.name));
  if (names.size !== probes.length) throw new RangeError("health probe names must be unique");
  return { probes, intervalMs, probeTimeoutMs };
}

/** Every probe's newest result, from rounds that run all probes at once. */
interface ProbeRounds {
  /** Probes whose newest result failed, or that have none yet. */
  failing(): HealthProbe[];
  failures(): ProbeFailure[];
  /** Runs every probe; resolves once each result is kept (unless a newer round's already is). */
  run(): Promise<void>;
}

function createProbeRounds(probes: readonly HealthProbe[], probeTimeoutMs: number): ProbeRounds {
  // A probe without result counts as failing: SERVING only once every dependency has answered.
  const results = new Map<string, { result: ProbeResult; round: number }>();
  let round = 0;

  function resultOf(probe: HealthProbe): ProbeResult {
    return results.get(probe.name)?.result ?? { ok: false, message: "not checked yet" };
  }

  async function runProbe(probe: HealthProbe, myRound: number): Promise<void> {
    const result = await checkWithin(probe, probeTimeoutMs);
    // A slow older round must not overwrite what a newer round already found.
    const previous = results.get(probe.name);
    if (previous === undefined || previous.round <= myRound) {
      results.set(probe.name, { result, round: myRound });
    }
  }

  return {
    failing: () => probes.filter((probe) => !resultOf(probe).ok),
    failures() {
      const failures: ProbeFailure[] = [];
      for (const probe of probes) {
        const result = resultOf(probe);
        if (!result.ok) failures.push({ probe: probe.name, message: result.message });
      }
      return failures;
    },
    async run() {
      round += 1;
      const myRound = round;
      await Promise.all(probes.map((probe) => runProbe(probe, myRound)));
    },
  };
}

/**
 * The status of each service from the failing probes; `publish` recomputes it and, when it
 * changed, logs a change of the overall status and tells the listeners.
 */
function createStatusBoard(logger: GrpcLogger, rounds: ProbeRounds, running: () => boolean) {
  const services = new Set<string>([""]);
  const listeners = new Set<() => void>();
  const compute = () => servingStatuses(services, rounds.failing(), running());
  let current = compute();

  function publish(): void {
    const next = compute();
    const changed = !sameStatuses(next, current);
    const overallBefore = current.get("");
    current = next;
    if (!changed) return;
    const overall = next.get("");
    if (overall !== overallBefore) {
      if (overall === "SERVING")
        logger.info({ health: overall }, "all dependencies answer: serving");
      else if (running()) {
        logger.warn(
          { health: overall, failures: rounds.failures() },
          "a dependency fails: not serving",
        );
      }
    }
    for (const listener of listeners) listener();
  }

  return {
    publish,
    status: (service: string) => current.get(service),
    statuses: () => new Map(current),
    onChange(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    addService(name: string) {
      services.add(name);
      publish();
    },
  };
}

// A probe that ignores its abort signal still fails at the timeout: the race does not wait for it.
async function checkWithin(probe: HealthProbe, timeoutMs: number): Promise<ProbeResult> {
  const controller = new AbortController();
  const timeout = new GeoError(
    Code.DEADLINE_EXCEEDED,
    `probe ${probe.name} did not answer within ${timeoutMs} ms`,
  );
  const timer = setTimeout(() => controller.abort(timeout), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      controller.signal.addEventListener("abort", () => reject(controller.signal.reason), {
        once: true,
      });
      probe.check(controller.signal).then(resolve, reject);
    });
    return { ok: true };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

// The overall "" fails with any probe; a service, with the probes that name it (or name none).
function servingStatuses(
  services: Iterable<string>,
  failing: readonly HealthProbe[],
  running: boolean,
): Map<string, ServingStatus> {
  const next = new Map<string, ServingStatus>();
  for (const service of services) {
    const down =
      !running ||
      failing.some(
        (probe) =>
          service === "" || probe.services === undefined || probe.services.includes(service),
      );
    next.set(service, down ? "NOT_SERVING" : "SERVING");
  }
  return next;
}

function sameStatuses(
  a: ReadonlyMap<string, ServingStatus>,
  b: ReadonlyMap<string, ServingStatus>,
): boolean {
  return a.size === b.size && [...a].every(([service, status]) => b.get(service) === status);
}
