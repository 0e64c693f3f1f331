// geoctl offsets: translate a consumer group's offsets (or explicit positions) from a flow's
// source to its target, commit them (dry-run first), list checkpoints. geo.offsets.v1.
import { OffsetTranslationService, offsetsV1 } from "@geo/proto";
import type { Command } from "commander";
import { CliError, ExitCode } from "../exit-codes";
import { emit, enumText, messageJson, renderTable, timeText } from "../output";
import { action, type CommandContext } from "../runtime";

const offsets = (context: CommandContext) => context.client("offsets", OffsetTranslationService);

const TRANSLATED_HEAD = [
  "topic",
  "partition",
  "source offset",
  "target topic",
  "target offset",
  "kind",
  "reason",
];

function translatedRow(t: offsetsV1.TranslatedOffset): unknown[] {
  return [
    t.sourceTopic,
    t.partition,
    t.sourceOffset,
    t.targetTopic,
    t.targetOffset,
    enumText(offsetsV1.TranslationKind, t.kind),
    t.reason,
  ];
}

/** `topic:partition:offset` -> SourceOffset; the topic may itself contain ":". */
export function parsePosition(text: string): { topic: string; partition: number; offset: string } {
  const match = /^(.+):(\d+):(\d+)$/.exec(text);
  if (match === null) {
    throw new CliError(
      `--offset "${text}" must be topic:partition:offset, e.g. orders:0:1500`,
      ExitCode.USAGE,
    );
  }
  return { topic: match[1]!, partition: Number(match[2]), offset: match[3]! };
}

interface TranslateOptions {
  flow: string;
  group?: string;
  topic?: string[];
  offset?: string[];
}

async function translate(context: CommandContext, options: TranslateOptions) {
  if ((options.group === undefined) === (options.offset === undefined)) {
    throw new CliError(
      "give either --group (its committed offsets) or --offset positions",
      ExitCode.USAGE,
    );
  }
  const client = offsets(context);
  const translated =
    options.group !== undefined
      ? (
          await client.translateGroupOffsets({
            flow: options.flow,
            group: options.group,
            topics: options.topic ?? [],
          })
        ).offsets
      : (
          await client.translateOffsets({
            flow: options.flow,
            offsets: (options.offset ?? []).map(parsePosition),
          })
        ).offsets;
  emit(
    context.format,
    translated.map((t) => messageJson(offsetsV1.TranslatedOffsetSchema, t)),
    () => renderTable(TRANSLATED_HEAD, translated.map(translatedRow)),
  );
  return undefined;
}

interface CommitOptions {
  flow: string;
  group: string;
  topic?: string[];
  dryRun: boolean;
}

async function commit(context: CommandContext, options: CommitOptions) {
  const response = await offsets(context).commitTranslatedOffsets({
    flow: options.flow,
    group: options.group,
    topics: options.topic ?? [],
    dryRun: options.dryRun,
    actor: context.connection().actor,
  });
  emit(
    context.format,
    messageJson(offsetsV1.CommitTranslatedOffsetsResponseSchema, response),
    () => {
      const table = renderTable(
        ["topic", "partition", "target topic", "previous", "new", "committed", "reason"],
        response.offsets.map((o) => [
          o.translation?.sourceTopic,
          o.translation?.partition,
          o.translation?.targetTopic,
          o.previousTargetOffset,
          o.translation?.targetOffset,
          o.committed ? (response.dryRun ? "would" : "yes") : "no",
          o.reason || o.translation?.reason,
        ]),
      );
      return response.dryRun ? `${table}\n(dry run: nothing committed)` : table;
    },
  );
  return undefined;
}

export function registerOffsetCommands(program: Command): void {
  const group = program
    .command("offsets")
    .description("consumer group offset translation between a flow's clusters");
  const collect = (value: string, previous: string[] = []) => [...previous, value];
  group
    .command("translate")
    .description(
      "translate a group's committed offsets (--group) or explicit positions (--offset) into the target",
    )
    .requiredOption("--flow <name>", "the flow whose source holds the offsets")
    .option("--group <id>", "consumer group whose committed offsets are read from the source")
    .option("--topic <topic>", "only this source topic (repeatable)", collect)
    .option(
      "--offset <topic:partition:offset>",
      "a source position to translate (repeatable)",
      collect,
    )
    .action(action(async (context, options: TranslateOptions) => translate(context, options)));
  group
    .command("commit")
    .description(
      "translate a group's offsets and commit them to the same group in the target (try --dry-run first)",
    )
    .requiredOption("--flow <name>", "the flow")
    .requiredOption("--group <id>", "consumer group, the same in source and target")
    .option("--topic <topic>", "only this source topic (repeatable)", collect)
    .option("--dry-run", "compute and show without committing", false)
    .action(action(async (context, options: CommitOptions) => commit(context, options)));
  group
    .command("checkpoints")
    .description("the latest checkpoint per group and partition written for a flow")
    .requiredOption("--flow <name>", "the flow")
    .option("--group <id>", "only this consumer group")
    .action(
      action(async (context, options: { flow: string; group?: string }) => {
        const { checkpoints } = await offsets(context).listCheckpoints({
          flow: options.flow,
          group: options.group ?? "",
          pageSize: 5000,
        });
        emit(
          context.format,
          checkpoints.map((c) => messageJson(offsetsV1.CheckpointSchema, c)),
          () =>
            renderTable(
              [
                "group",
                "topic",
                "partition",
                "target topic",
                "source offset",
                "target offset",
                "exact",
                "time",
              ],
              checkpoints.map((c) => [
                c.group,
                c.sourceTopic,
                c.partition,
                c.targetTopic,
                c.sourceOffset,
                c.targetOffset,
                c.exact ? "yes" : "no",
                timeText(c.checkpointTime),
              ]),
            ),
        );
        return undefined;
      }),
    );
}
