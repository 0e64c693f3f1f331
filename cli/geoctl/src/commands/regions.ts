// geoctl regions / switchover / failover / failback / drill / watch: the active region of each
// flow group (geo.health.v1). Transitions show live progress: the region state's phase changes,
// streamed by WatchRegionState, while the transition call runs; then the steps it took.
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, GeoError, type GrpcClient } from "@geo/grpc";
import { healthV1, ReplicationHealthService } from "@geo/proto";
import type { Command } from "commander";
import { CliError, ExitCode } from "../exit-codes";
import {
  durationText,
  emit,
  enumText,
  type JsonValue,
  messageJson,
  renderFields,
  renderTable,
  timeText,
} from "../output";
import { action, type CommandContext } from "../runtime";

type Health = GrpcClient<typeof ReplicationHealthService>;
export type TransitionKind = "switchover" | "failover" | "failback";

const health = (context: CommandContext): Health =>
  context.client("health", ReplicationHealthService);
const stateJson = (state: healthV1.RegionState) => messageJson(healthV1.RegionStateSchema, state);
const phaseText = (state: healthV1.RegionState) => enumText(healthV1.RegionPhase, state.phase);

function stateLine(state: healthV1.RegionState): string {
  const by = state.updatedBy ? `, by ${state.updatedBy}` : "";
  const why = state.reason ? `: ${state.reason}` : "";
  return `${state.flowGroup}: ${phaseText(state)}, active ${state.activeRegion} (epoch ${state.epoch}${by}${why})`;
}

export interface TransitionOptions {
  to: string;
  expectedEpoch?: string;
  consumerGroup?: string[];
  dryRun: boolean;
  reason: string;
  waitTimeout?: string;
}

interface TransitionResult {
  state?: healthV1.RegionState;
  steps: healthV1.TransitionStep[];
}

function durationOf(text: string | undefined) {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new CliError(
      `--wait-timeout must be a positive number of seconds, got "${text}"`,
      ExitCode.USAGE,
    );
  }
  return durationFromMs(value * 1000);
}

/** Prints phase changes of `group` to stderr until `signal` aborts; never fails the command. */
async function showProgress(client: Health, group: string, signal: AbortSignal): Promise<void> {
  const started = performance.now();
  try {
    for await (const { state, initial } of client.watchRegionState(
      { flowGroups: [group] },
      { signal, timeoutMs: 24 * 3600_000 },
    )) {
      if (state === undefined || initial) continue;
      const at = ((performance.now() - started) / 1000).toFixed(1);
      process.stderr.write(`  +${at}s ${stateLine(state)}\n`);
    }
  } catch {
    // Progress is a courtesy: the transition's own answer says what happened.
  }
}

async function callTransition(
  client: Health,
  kind: TransitionKind,
  group: string,
  options: TransitionOptions,
  actor: string,
): Promise<TransitionResult> {
  const expectedEpoch =
    options.expectedEpoch ??
    (await client.getRegionState({ flowGroup: group })).state?.epoch ??
    "0";
  const common = {
    flowGroup: group,
    targetRegion: options.to,
    expectedEpoch,
    consumerGroups: options.consumerGroup ?? [],
    dryRun: options.dryRun,
    actor,
    reason: options.reason,
  };
  const wait = durationOf(options.waitTimeout);
  // Transitions drain and catch up: allow them their own timeout plus a margin.
  const timeoutMs = (options.waitTimeout ? Number(options.waitTimeout) * 1000 : 600_000) + 60_000;
  if (kind === "switchover") {
    return client.switchover({ ...common, ...(wait && { drainTimeout: wait }) }, { timeoutMs });
  }
  if (kind === "failback") {
    return client.failback({ ...common, ...(wait && { catchUpTimeout: wait }) }, { timeoutMs });
  }
  return client.failover(common, { timeoutMs });
}

/** Runs one transition with live progress; returns its result. */
export async function runTransition(
  context: CommandContext,
  kind: TransitionKind,
  group: string,
  options: TransitionOptions,
): Promise<TransitionResult> {
  const client = health(context);
  const progress = new AbortController();
  const interrupted = () => progress.abort();
  context.interrupted.addEventListener("abort", interrupted, { once: true });
  if (context.format === "table") {
    process.stderr.write(
      `${kind} of ${group} to ${options.to}${options.dryRun ? " (dry run)" : ""}…\n`,
    );
  }
  const watching =
    context.format === "table" ? showProgress(client, group, progress.signal) : Promise.resolve();
  try {
    return await callTransition(client, kind, group, options, context.connection().actor);
  } finally {
    progress.abort();
    context.interrupted.removeEventListener("abort", interrupted);
    await watching;
  }
}

export function transitionJson(kind: string, result: TransitionResult): JsonValue {
  return {
    transition: kind,
    state: result.state === undefined ? null : stateJson(result.state),
    steps: result.steps.map((step) => messageJson(healthV1.TransitionStepSchema, step)),
  };
}

export function transitionText(result: TransitionResult): string {
  const steps = renderTable(
    ["step", "ok", "took", "detail"],
    result.steps.map((step) => [
      step.description,
      step.skipped ? "skipped" : step.ok ? "yes" : "NO",
      durationText(step.duration),
      step.detail,
    ]),
  );
  return `${steps}\n${result.state === undefined ? "" : stateLine(result.state)}`;
}

function addTransitionOptions(command: Command, waitHelp?: string): Command {
  command
    .requiredOption("--to <region>", "region to make active")
    .option(
      "--expected-epoch <n>",
      "refuse (exit 5) unless the state is still at this epoch; default: the current one",
    )
    .option(
      "--consumer-group <id...>",
      "consumer groups to translate and commit; default: every configured group",
    )
    .option("--dry-run", "plan and show the steps without doing them", false)
    .option("--reason <text>", "why, recorded in the region state", "");
  if (waitHelp !== undefined) command.option("--wait-timeout <seconds>", waitHelp);
  return command;
}

function registerTransitions(program: Command): void {
  const help: Record<TransitionKind, [string, string | undefined]> = {
    switchover: [
      "planned move of the active region: stop writes, drain, translate and commit offsets, flip",
      "longest wait for the flow to drain (server default 60 s)",
    ],
    failover: [
      "unplanned move when the active region is lost: commit offsets from what was replicated, flip",
      undefined,
    ],
    failback: [
      "return to the original region after a failover: reverse the flow, catch up, switch over",
      "longest wait for the reversed flow to catch up (server default 10 min)",
    ],
  };
  for (const kind of Object.keys(help) as TransitionKind[]) {
    const [description, waitHelp] = help[kind];
    addTransitionOptions(
      program.command(`${kind} <flow-group>`).description(description),
      waitHelp,
    ).action(
      action(async (context, group: string, options: TransitionOptions) => {
        const result = await runTransition(context, kind, group, options);
        emit(context.format, transitionJson(kind, result), () => transitionText(result));
        return result.steps.every((step) => step.ok) ? undefined : ExitCode.FAILED_PRECONDITION;
      }),
    );
  }
}

function registerWatch(program: Command): void {
  program
    .command("watch [flow-groups...]")
    .description(
      "stream region states: the current one of each group, then every change, until Ctrl-C",
    )
    .action(
      action(async (context, groups: string[]) => {
        const client = health(context);
        try {
          for await (const { state, initial } of client.watchRegionState(
            { flowGroups: groups ?? [] },
            { signal: context.interrupted, timeoutMs: 24 * 3600_000 },
          )) {
            if (state === undefined) continue;
            if (context.format === "table") {
              process.stdout.write(
                `${timeText(state.updateTime)} ${initial ? "now " : "changed "}${stateLine(state)}\n`,
              );
            } else {
              process.stdout.write(`${JSON.stringify({ initial, state: stateJson(state) })}\n`);
            }
          }
        } catch (error) {
          if (!context.interrupted.aborted) throw error;
        }
        return undefined;
      }),
    );
}

export function registerRegionCommands(program: Command): void {
  const regions = program
    .command("regions")
    .description("which region is active for each flow group");
  regions
    .command("list")
    .alias("ls")
    .description("every flow group's active region, phase and epoch")
    .action(
      action(async (context) => {
        const { states } = await health(context).listRegionStates({});
        emit(context.format, states.map(stateJson), () =>
          renderTable(
            ["flow group", "active", "phase", "epoch", "previous", "updated", "by", "reason"],
            states.map((s) => [
              s.flowGroup,
              s.activeRegion,
              phaseText(s),
              s.epoch,
              s.previousActiveRegion,
              timeText(s.updateTime),
              s.updatedBy,
              s.reason,
            ]),
          ),
        );
        return undefined;
      }),
    );
  regions
    .command("describe <flow-group>")
    .alias("get")
    .description("one flow group's region state")
    .action(
      action(async (context, group: string) => {
        const { state } = await health(context).getRegionState({ flowGroup: group });
        if (state === undefined) throw new GeoError(Code.NOT_FOUND, `no flow group "${group}"`);
        emit(context.format, stateJson(state), () =>
          renderFields([
            ["flow group", state.flowGroup],
            ["active region", state.activeRegion],
            ["phase", phaseText(state)],
            ["epoch", state.epoch],
            ["previous active", state.previousActiveRegion],
            ["updated", timeText(state.updateTime)],
            ["by", state.updatedBy],
            ["reason", state.reason],
          ]),
        );
        return undefined;
      }),
    );
  registerTransitions(program);
  registerWatch(program);
}
