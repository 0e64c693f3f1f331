// geoctl status: clusters (health service), flows and every partition with its agent, state, lag
// in records and time, and copy rates (coordinator). `--watch` redraws it in place until Ctrl-C.
import { sleep } from "@geo/backoff";
import { GeoError } from "@geo/grpc";
import {
  CoordinatorService,
  coordinatorV1,
  healthV1,
  ReplicationHealthService,
  replicationV1,
} from "@geo/proto";
import type { Command } from "commander";
import { CliError, ExitCode } from "../exit-codes";
import { durationText, emit, enumText, type JsonValue, messageJson, renderTable } from "../output";
import { allPages } from "../pages";
import { action, type CommandContext } from "../runtime";
import { listFlows } from "./flow-queries";

interface StatusOptions {
  flow?: string;
  watch: boolean;
  interval: string;
}

interface Snapshot {
  clusters: healthV1.ClusterHealth[] | { error: string };
  flows: coordinatorV1.Flow[];
  units: coordinatorV1.UnitStatus[];
}

async function snapshot(context: CommandContext, flow: string | undefined): Promise<Snapshot> {
  const coordinator = context.client("coordinator", CoordinatorService);
  // Flows first: an unknown --flow is "not found", which ListUnits would call an invalid argument.
  const flows = await listFlows(coordinator);
  if (flow !== undefined && !flows.some((f) => f.name === flow)) {
    const names = flows.map((f) => f.name).join(", ") || "none";
    throw new CliError(`no flow "${flow}"; flows: ${names}`, ExitCode.NOT_FOUND);
  }
  const units = await allPages(async (pageToken) => {
    const page = await coordinator.listUnits({ flow: flow ?? "", pageSize: 5000, pageToken });
    return { items: page.units, nextPageToken: page.nextPageToken };
  });
  // Cluster health is a bonus: without the health service the rest still tells a lot.
  let clusters: Snapshot["clusters"];
  try {
    const health = context.client("health", ReplicationHealthService);
    clusters = (await health.listClusterHealth({})).clusters;
  } catch (error) {
    clusters = { error: `health service: ${GeoError.from(error).message.split("\n", 1)[0]}` };
  }
  return { clusters, flows: flows.filter((f) => flow === undefined || f.name === flow), units };
}

function flowRows(snap: Snapshot): unknown[][] {
  return snap.flows.map((flow) => {
    const units = snap.units.filter((unit) => unit.unit?.flow === flow.name);
    const lag = units.reduce((sum, unit) => sum + BigInt(unit.lag?.records || "0"), 0n);
    const worst = units.reduce((max, unit) => {
      const seconds = Number(unit.lag?.time?.seconds ?? 0n) + (unit.lag?.time?.nanos ?? 0) / 1e9;
      return Math.max(max, seconds);
    }, 0);
    const rate = units.reduce((sum, unit) => sum + unit.recordsPerSecond, 0);
    const running = units.filter((unit) => unit.state === replicationV1.UnitState.RUNNING).length;
    return [
      flow.name,
      `${flow.sourceCluster} -> ${flow.targetCluster}`,
      flow.paused ? "paused" : "active",
      `${running}/${units.length}`,
      rate.toFixed(1),
      String(lag),
      `${worst.toFixed(1)}s`,
    ];
  });
}

function unitRow(unit: coordinatorV1.UnitStatus): unknown[] {
  return [
    unit.unit?.flow,
    unit.unit?.sourceTopic,
    unit.unit?.partition,
    unit.actualAgentId || unit.desiredAgentId,
    enumText(replicationV1.UnitState, unit.state),
    unit.nextSourceOffset,
    unit.lag?.records ?? "",
    durationText(unit.lag?.time),
    unit.recordsPerSecond.toFixed(1),
    (unit.bytesPerSecond / 1024).toFixed(1),
  ];
}

function render(snap: Snapshot): string {
  const clusters = Array.isArray(snap.clusters)
    ? renderTable(
        ["cluster", "reachable", "brokers", "under-replicated", "offline", "error"],
        snap.clusters.map((c) => [
          c.cluster,
          c.reachable ? "yes" : "no",
          c.brokerCount,
          c.underReplicatedPartitionCount,
          c.offlinePartitionCount,
          c.error,
        ]),
      )
    : `(${snap.clusters.error})`;
  return [
    `CLUSTERS  ${new Date().toISOString().slice(0, 19)}Z`,
    clusters,
    "",
    "FLOWS",
    renderTable(
      ["flow", "direction", "state", "running", "records/s", "lag", "lag time"],
      flowRows(snap),
    ),
    "",
    "PARTITIONS",
    renderTable(
      [
        "flow",
        "topic",
        "partition",
        "agent",
        "state",
        "next offset",
        "lag",
        "lag time",
        "records/s",
        "KiB/s",
      ],
      snap.units.map(unitRow),
    ),
  ].join("\n");
}

function snapshotJson(snap: Snapshot): JsonValue {
  return {
    clusters: Array.isArray(snap.clusters)
      ? snap.clusters.map((c) => messageJson(healthV1.ClusterHealthSchema, c))
      : snap.clusters,
    flows: flowRows(snap).map(([name, direction, state, running, rate, lag, lagTime]) => ({
      name: String(name),
      direction: String(direction),
      state: String(state),
      running: String(running),
      recordsPerSecond: Number(rate),
      lagRecords: String(lag),
      lagSeconds: Number.parseFloat(String(lagTime)),
    })),
    units: snap.units.map((unit) => messageJson(coordinatorV1.UnitStatusSchema, unit)),
  };
}

async function status(context: CommandContext, options: StatusOptions): Promise<undefined> {
  const intervalMs = Number(options.interval) * 1000;
  if (!Number.isFinite(intervalMs) || intervalMs < 200) {
    throw new CliError(
      `--interval must be a number of seconds >= 0.2, got "${options.interval}"`,
      ExitCode.USAGE,
    );
  }
  const tty = process.stdout.isTTY === true;
  // Ctrl-C during a refresh ends the watch at once rather than after the calls' deadline.
  const interrupted = new Promise<undefined>((resolve) =>
    context.interrupted.addEventListener("abort", () => resolve(undefined), { once: true }),
  );
  for (;;) {
    const snap = await Promise.race([snapshot(context, options.flow), interrupted]);
    if (snap === undefined) return undefined;
    if (options.watch && tty && context.format === "table") process.stdout.write("\x1b[H\x1b[2J");
    emit(context.format, snapshotJson(snap), () => render(snap));
    if (!options.watch || context.interrupted.aborted) return undefined;
    if (!tty || context.format !== "table")
      process.stdout.write(context.format === "yaml" ? "---\n" : "\n");
    await sleep(intervalMs, context.interrupted);
    if (context.interrupted.aborted) return undefined;
  }
}

export function registerStatusCommand(program: Command): void {
  program
    .command("status")
    .description("clusters, flows and every partition: agent, state, lag (records and time), rates")
    .option("--flow <name>", "only this flow")
    .option("-w, --watch", "refresh in place until Ctrl-C", false)
    .option("--interval <seconds>", "refresh interval with --watch", "2")
    .action(action(async (context, options: StatusOptions) => status(context, options)));
}
