// geoctl drill: a failover rehearsal without losing anything: a planned switchover of a flow group
// to another region, then back to where it was, each with live progress and its steps, timed.
import { ReplicationHealthService } from "@geo/proto";
import type { Command } from "commander";
import { CliError, ExitCode } from "../exit-codes";
import { emit, renderTable } from "../output";
import { action } from "../runtime";
import { runTransition, type TransitionOptions, transitionJson, transitionText } from "./regions";

interface DrillOptions {
  to: string;
  consumerGroup?: string[];
  dryRun: boolean;
  waitTimeout?: string;
}

export function registerDrillCommand(program: Command): void {
  program
    .command("drill <flow-group>")
    .description(
      "rehearse: switch the flow group over to another region, then back, timing each leg",
    )
    .requiredOption("--to <region>", "region to switch to (and back from)")
    .option(
      "--consumer-group <id...>",
      "consumer groups to translate and commit; default: every configured group",
    )
    .option("--dry-run", "plan both legs without doing them", false)
    .option("--wait-timeout <seconds>", "longest wait for each drain (server default 60 s)")
    .action(
      action(async (context, group: string, options: DrillOptions) => {
        const health = context.client("health", ReplicationHealthService);
        const { state } = await health.getRegionState({ flowGroup: group });
        const home = state?.activeRegion;
        if (state === undefined || home === undefined || home === "") {
          throw new CliError(
            `flow group "${group}" has no active region to return to`,
            ExitCode.FAILED_PRECONDITION,
          );
        }
        if (home === options.to) {
          throw new CliError(
            `${options.to} is already active for "${group}": drill to another region`,
            ExitCode.USAGE,
          );
        }
        const legs: {
          to: string;
          seconds: number;
          result: Awaited<ReturnType<typeof runTransition>>;
        }[] = [];
        for (const to of [options.to, home]) {
          const leg: TransitionOptions = {
            to,
            dryRun: options.dryRun,
            reason: `drill ${home} -> ${options.to} -> ${home}`,
            ...(options.consumerGroup && { consumerGroup: options.consumerGroup }),
            ...(options.waitTimeout && { waitTimeout: options.waitTimeout }),
          };
          const started = performance.now();
          const result = await runTransition(context, "switchover", group, leg);
          legs.push({ to, seconds: (performance.now() - started) / 1000, result });
          if (!result.steps.every((step) => step.ok)) break;
        }
        const ok = legs.length === 2 && legs.every((leg) => leg.result.steps.every((s) => s.ok));
        emit(
          context.format,
          {
            ok,
            legs: legs.map((leg) => ({
              to: leg.to,
              seconds: leg.seconds,
              ...(transitionJson("switchover", leg.result) as object),
            })),
          },
          () =>
            [
              ...legs.map(
                (leg) =>
                  `switchover to ${leg.to} (${leg.seconds.toFixed(1)} s)\n${transitionText(leg.result)}\n`,
              ),
              renderTable(
                ["leg", "to", "seconds", "ok"],
                legs.map((leg, i) => [
                  i + 1,
                  leg.to,
                  leg.seconds.toFixed(1),
                  leg.result.steps.every((s) => s.ok) ? "yes" : "NO",
                ]),
              ),
              ok
                ? `drill passed: ${group} is back in ${home}`
                : `drill FAILED: see the steps above; ${group} is in ${legs.at(-1)?.result.state?.activeRegion ?? "?"}`,
            ].join("\n"),
        );
        return ok ? undefined : ExitCode.FAILED_PRECONDITION;
      }),
    );
}
