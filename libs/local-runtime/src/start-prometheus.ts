import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDebianBinary } from "./apt-install";
import { findFreePorts } from "./free-ports";
import { createHarnessDir, removeHarnessDir } from "./harness-dir";
import { HarnessError } from "./harness-error";
import { readLogTail } from "./log-file";
import { type ManagedProcess, spawnManaged } from "./managed-process";
import { trackProcess } from "./reaper";
import { registerStoppable } from "./stop-all";

export interface PrometheusOptions {
  /** `host:port` of every /metrics endpoint to scrape (one job, `geo`). */
  targets: readonly string[];
  /** Rule files to load (alerting and recording rules). */
  ruleFiles?: readonly string[];
  /** Scrape and rule evaluation interval. Default 1 s. */
  intervalMs?: number;
  startTimeoutMs?: number;
}

/** One sample of an instant query: the series' labels and its value. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusServer {
  readonly url: string;
  readonly dir: string;
  /** Instant PromQL query through the HTTP API. */
  query(promql: string): Promise<PromSample[]>;
  /** Names of every metric Prometheus has ingested. */
  metricNames(): Promise<string[]>;
  stop(): Promise<void>;
}

/** Debian's `promtool` (from the `prometheus` package), installed when missing. */
export function ensurePromtool(): string {
  ensurePrometheusBinary();
  return ensureDebianBinary("promtool", "prometheus", "PROMETHEUS_UNAVAILABLE");
}

function ensurePrometheusBinary(): string {
  return ensureDebianBinary("prometheus", "prometheus", "PROMETHEUS_UNAVAILABLE");
}

/**
 * A private Prometheus (Debian's package, installed with apt-get when missing) on a free loopback
 * port, scraping `targets` every second. Stopped by `stop()`, `stopAll()`, or the reaper.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const binary = ensurePrometheusBinary();
  const dir = createHarnessDir("prometheus");
  const [port] = await findFreePorts(1);
  const interval = `${Math.round((options.intervalMs ?? 1000) / 1000) || 1}s`;
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    JSON.stringify({
      global: {
        scrape_interval: interval,
        evaluation_interval: interval,
        scrape_timeout: interval,
      },
      rule_files: options.ruleFiles ?? [],
      scrape_configs: [{ job_name: "geo", static_configs: [{ targets: options.targets }] }],
    }),
  );
  const logFile = join(dir, "prometheus.log");
  const log = openSync(logFile, "a");
  let server: ManagedProcess;
  try {
    server = spawnManaged(
      binary,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", log, log], cwd: dir },
    );
  } finally {
    closeSync(log);
  }
  if (server.pid !== undefined) trackProcess(server.pid);
  const url = `http://127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;
  const prometheus: PrometheusServer = {
    url,
    dir,
    async query(promql) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== "success") throw new Error(`PromQL ${promql}: ${body.error}`);
      return (body.data?.result ?? []).map((r) => ({
        metric: r.metric,
        value: Number(r.value[1]),
      }));
    },
    async metricNames() {
      const response = await fetch(`${url}/api/v1/label/__name__/values`);
      return ((await response.json()) as { data: string[] }).data;
    },
    stop() {
      stopping ??= (async () => {
        forget();
        await server.terminate(10_000);
        removeHarnessDir(dir);
      })();
      return stopping;
    },
  };
  const forget = registerStoppable(prometheus);
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready && server.running) return prometheus;
    if (!server.running || Date.now() > deadline) {
      await server.kill();
      throw new HarnessError(
        "START_FAILED",
        `prometheus on port ${port} did not become ready; last lines of ${logFile}:\n${readLogTail(logFile)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
