// geoctl flows apply / diff: bring the running flows to a YAML file's (the config file's flow
// schema). Every flow is planned and validated by the coordinator (validate_only) before any is
// changed, so a refused flow leaves all of them as they were.
import type { FlowConfig } from "@geo/config";
import type { GrpcClient } from "@geo/grpc";
import { CoordinatorService, type coordinatorV1 } from "@geo/proto";
import type { Command } from "commander";
import { CliError, ExitCode } from "../exit-codes";
import { clusterConfigs, flowMessage, loadFlowFile } from "../flow-file";
import { changeText, type FlowPlan, planFlow } from "../flow-plan";
import { emit, type JsonValue, renderTable } from "../output";
import { action, type CommandContext } from "../runtime";
import { findFlow } from "./flow-queries";

type Coordinator = GrpcClient<typeof CoordinatorService>;

interface Planned {
  desired: FlowConfig;
  running: coordinatorV1.Flow | undefined;
  plan: FlowPlan;
}

async function planFile(client: Coordinator, file: string): Promise<Planned[]> {
  const { clusters } = await client.listClusters({});
  const desired = loadFlowFile(file, clusterConfigs(clusters));
  return Promise.all(
    desired.map(async (flow) => {
      const running = await findFlow(client, flow.name);
      return { desired: flow, running, plan: planFlow(flow, running) };
    }),
  );
}

function planJson(plan: FlowPlan): JsonValue {
  return {
    flow: plan.flow,
    action: plan.action,
    changes: plan.changes.map((change) => ({
      field: change.field,
      running: (change.running ?? null) as JsonValue,
      desired: change.desired as JsonValue,
    })),
    ...(plan.reason === undefined ? {} : { reason: plan.reason }),
  };
}

function planTable(plans: readonly FlowPlan[]): string {
  return renderTable(
    ["flow", "action", "changes"],
    plans.map((plan) => [
      plan.flow,
      plan.action,
      plan.reason ??
        (plan.action === "create" ? "new flow" : plan.changes.map(changeText).join("\n")),
    ]),
  );
}

/** Asks the coordinator to validate every create and update without storing anything. */
async function validateAll(client: Coordinator, planned: readonly Planned[], actor: string) {
  for (const { desired, plan } of planned) {
    if (plan.action === "create") {
      await client.createFlow({ flow: flowMessage(desired), actor, validateOnly: true });
    } else if (plan.action === "update" && plan.definitionChanges) {
      await client.updateFlow({
        flow: flowMessage(desired),
        expectedVersion: plan.version ?? "0",
        actor,
        validateOnly: true,
      });
    }
  }
}

async function execute(client: Coordinator, entry: Planned, actor: string, reason: string) {
  const { desired, plan } = entry;
  if (plan.action === "create") {
    await client.createFlow({ flow: flowMessage(desired), actor });
  } else if (plan.action === "update" && plan.definitionChanges) {
    await client.updateFlow({
      flow: flowMessage(desired),
      expectedVersion: plan.version ?? "0",
      actor,
    });
  }
  const wasPaused = entry.running?.paused ?? false;
  if (desired.paused && !wasPaused) await client.pauseFlow({ name: desired.name, actor, reason });
  if (!desired.paused && wasPaused) await client.resumeFlow({ name: desired.name, actor, reason });
}

async function apply(
  context: CommandContext,
  options: { file: string; dryRun: boolean; reason: string },
): Promise<number | undefined> {
  const client = context.client("coordinator", CoordinatorService);
  const planned = await planFile(client, options.file);
  const plans = planned.map(({ plan }) => plan);
  const refused = plans.filter((plan) => plan.action === "refused");
  if (refused.length > 0) {
    throw new CliError(
      `nothing applied: ${refused.map((plan) => `flow "${plan.flow}" ${plan.reason}`).join("; ")}`,
      ExitCode.FAILED_PRECONDITION,
    );
  }
  const { actor } = context.connection();
  await validateAll(client, planned, actor);
  if (!options.dryRun) {
    for (const entry of planned) await execute(client, entry, actor, options.reason);
  }
  emit(
    context.format,
    { dryRun: options.dryRun, flows: plans.map(planJson) },
    () => `${planTable(plans)}${options.dryRun ? "\n(dry run: nothing changed)" : ""}`,
  );
  return undefined;
}

export function registerApplyCommands(flows: Command): void {
  flows
    .command("apply")
    .description(
      "create or update flows from a YAML file (the config file's flows schema: a config file, a list of flows, or one flow); validates them all first, so a refused flow changes nothing",
    )
    .requiredOption("-f, --file <path>", "YAML file with the flows")
    .option(
      "--dry-run",
      "validate with the coordinator and print the plan without changing anything",
      false,
    )
    .option("--reason <text>", "why, recorded with pause/resume changes", "")
    .action(
      action(async (context, options: { file: string; dryRun: boolean; reason: string }) =>
        apply(context, options),
      ),
    );
  flows
    .command("diff")
    .description(
      `what "flows apply" would change: exit 0 when nothing, ${ExitCode.DIFFERENT} when the running flows differ`,
    )
    .requiredOption("-f, --file <path>", "YAML file with the flows")
    .action(
      action(async (context, options: { file: string }) => {
        const planned = await planFile(
          context.client("coordinator", CoordinatorService),
          options.file,
        );
        const plans = planned.map(({ plan }) => plan);
        emit(context.format, { flows: plans.map(planJson) }, () => planTable(plans));
        return plans.every((plan) => plan.action === "unchanged")
          ? ExitCode.OK
          : ExitCode.DIFFERENT;
      }),
    );
}
