// geoctl flows: list, describe, pause, resume, delete, history (apply and diff: flows-apply.ts).
import { Code, GeoError } from "@geo/grpc";
import { coordinatorV1, replicationV1 } from "@geo/proto";
import type { Command } from "commander";
import { emit, enumText, messageJson, renderFields, renderTable, timeText } from "../output";
import { action } from "../runtime";
import { coordinator, listFlows } from "./flow-queries";
import { registerApplyCommands } from "./flows-apply";

export function ownerText(flow: coordinatorV1.Flow): string {
  const owner = flow.owner?.owner;
  if (owner?.case === "file") return "file";
  if (owner?.case === "api") return "api";
  return "";
}

const topicsText = (flow: coordinatorV1.Flow) =>
  [
    (flow.topics?.include ?? []).join(","),
    ...((flow.topics?.exclude.length ?? 0) > 0 ? [`!${flow.topics?.exclude.join(",!")}`] : []),
  ].join(" ");

function flowRow(flow: coordinatorV1.Flow): unknown[] {
  return [
    flow.name,
    flow.sourceCluster,
    flow.targetCluster,
    topicsText(flow),
    enumText(replicationV1.NamingPolicy, flow.namingPolicy),
    ownerText(flow),
    flow.paused ? "paused" : "active",
    `${flow.status?.runningUnitCount ?? 0}/${flow.status?.unitCount ?? 0}`,
    flow.version,
  ];
}

const FLOW_HEAD = [
  "name",
  "source",
  "target",
  "topics",
  "naming",
  "owner",
  "state",
  "running",
  "version",
];

export function describeFlow(flow: coordinatorV1.Flow): string {
  const owner = flow.owner?.owner;
  return renderFields([
    ["name", flow.name],
    ["source", flow.sourceCluster],
    ["target", flow.targetCluster],
    ["topics.include", (flow.topics?.include ?? []).join(", ")],
    ["topics.exclude", (flow.topics?.exclude ?? []).join(", ")],
    ["naming", enumText(replicationV1.NamingPolicy, flow.namingPolicy)],
    ["provenanceHeader", flow.provenanceHeader],
    ["startFrom", enumText(replicationV1.StartPosition, flow.startPosition)],
    ["onOffsetOutOfRange", enumText(replicationV1.OffsetOutOfRangePolicy, flow.onOffsetOutOfRange)],
    ["state", flow.paused ? "paused" : "active"],
    [
      "owner",
      owner?.case === "file"
        ? `config file ${owner.value.path}`
        : owner?.case === "api"
          ? `admin API (created by ${owner.value.createdBy})`
          : "",
    ],
    ["version", flow.version],
    ["created", timeText(flow.createTime)],
    ["updated", timeText(flow.updateTime)],
    ["matched topics", flow.status?.matchedTopicCount ?? 0],
    ["units running", `${flow.status?.runningUnitCount ?? 0}/${flow.status?.unitCount ?? 0}`],
    ["last discovery", timeText(flow.status?.discoveryTime)],
    ["warnings", (flow.status?.warnings ?? []).join("; ") || "none"],
  ]);
}

const flowJson = (flow: coordinatorV1.Flow) => messageJson(coordinatorV1.FlowSchema, flow);

function changeRow(change: coordinatorV1.FlowChange): unknown[] {
  return [
    timeText(change.changeTime),
    change.flow,
    enumText(coordinatorV1.FlowChangeKind, change.kind),
    change.version,
    change.actor,
    change.reason,
  ];
}

function registerStateCommands(flows: Command): void {
  for (const [verb, past] of [
    ["pause", "paused"],
    ["resume", "resumed"],
  ] as const) {
    flows
      .command(`${verb} <name>`)
      .description(
        verb === "pause"
          ? "pause a flow: its units keep their leases and positions but copy nothing"
          : "resume a paused flow from where each unit stopped",
      )
      .option("--reason <text>", "why, recorded in the flow's history", "")
      .action(
        action(async (context, name: string, { reason }: { reason: string }) => {
          const client = coordinator(context);
          const request = { name, reason, actor: context.connection().actor };
          const { flow } =
            verb === "pause" ? await client.pauseFlow(request) : await client.resumeFlow(request);
          emit(
            context.format,
            flow === undefined ? null : flowJson(flow),
            () => `flow "${name}" ${past} (version ${flow?.version ?? "?"})`,
          );
          return undefined;
        }),
      );
  }
  flows
    .command("delete <name>")
    .description("delete an API-owned flow: its units stop, remote topics are kept")
    .option("--expected-version <n>", "refuse unless the flow is still at this version")
    .action(
      action(async (context, name: string, options: { expectedVersion?: string }) => {
        const { flow } = await coordinator(context).deleteFlow({
          name,
          expectedVersion: options.expectedVersion ?? "0",
          actor: context.connection().actor,
        });
        emit(
          context.format,
          flow === undefined ? null : flowJson(flow),
          () =>
            `flow "${name}" deleted (was version ${flow?.version ?? "?"}); its remote topics are kept`,
        );
        return undefined;
      }),
    );
}

export function registerFlowCommands(program: Command): void {
  const flows = program
    .command("flows")
    .description(
      "replication flows: list, describe, apply from a file, pause, resume, delete, history",
    );
  flows
    .command("list")
    .alias("ls")
    .description("list flows in name order")
    .option("--source <cluster>", "only flows reading from this cluster")
    .option("--target <cluster>", "only flows writing into this cluster")
    .action(
      action(async (context, filter: { source?: string; target?: string }) => {
        const list = await listFlows(coordinator(context), filter);
        emit(context.format, list.map(flowJson), () => renderTable(FLOW_HEAD, list.map(flowRow)));
        return undefined;
      }),
    );
  flows
    .command("describe <name>")
    .alias("get")
    .description("one flow's definition, owner, version and status")
    .action(
      action(async (context, name: string) => {
        const { flow } = await coordinator(context).getFlow({ name });
        if (flow === undefined) throw new GeoError(Code.NOT_FOUND, `no flow "${name}"`);
        emit(context.format, flowJson(flow), () => describeFlow(flow));
        return undefined;
      }),
    );
  flows
    .command("history [name]")
    .description("recorded changes of one flow or all flows, newest first: who, when, what")
    .option("--limit <n>", "at most this many changes", "50")
    .action(
      action(async (context, name: string | undefined, { limit }: { limit: string }) => {
        const { changes } = await coordinator(context).listFlowChanges({
          flow: name ?? "",
          pageSize: Math.min(1000, Math.max(1, Number(limit) || 50)),
        });
        emit(
          context.format,
          changes.map((change) => messageJson(coordinatorV1.FlowChangeSchema, change)),
          () =>
            renderTable(
              ["time", "flow", "change", "version", "actor", "reason"],
              changes.map(changeRow),
            ),
        );
        return undefined;
      }),
    );
  registerStateCommands(flows);
  registerApplyCommands(flows);
}
