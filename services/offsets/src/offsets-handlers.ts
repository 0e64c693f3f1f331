import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  Code,
  GeoError,
  type HandlerContext,
  invalidArgument,
  paginate,
  requireNonEmpty,
  requireOffset,
  resolveActor,
} from "@geo/grpc";
import { offsetToProto } from "@geo/positions";
import type { offsetsV1 } from "@geo/proto";
import type { OffsetsFlow } from "./flows";
import { commitTranslations } from "./group-commit";
import { MAX_POSITIONS, type OffsetsCore } from "./offsets-core";
import type { OffsetsMetrics } from "./offsets-metrics";
import { originGroup } from "./to-origin";
import { type SourcePosition, translationMessage } from "./translate";

const MAX_TOPICS = 1000;

type Req<T extends { $typeName: string }> = Omit<T, "$typeName">;

function topicList(topics: readonly string[]): string[] {
  if (topics.length > MAX_TOPICS) {
    throw invalidArgument("topics", `has ${topics.length} entries; at most ${MAX_TOPICS}`);
  }
  for (const [i, t] of topics.entries()) requireNonEmpty(t, `topics[${i}]`);
  return [...topics];
}

function positionsOf(request: Req<offsetsV1.TranslateOffsetsRequest>): SourcePosition[] {
  if (request.offsets.length === 0) {
    throw invalidArgument("offsets", "is empty: give at least one source position");
  }
  if (request.offsets.length > MAX_POSITIONS) {
    throw invalidArgument(
      "offsets",
      `has ${request.offsets.length} positions; at most ${MAX_POSITIONS} per request`,
    );
  }
  return request.offsets.map((o, i) => {
    requireNonEmpty(o.topic, `offsets[${i}].topic`);
    if (o.partition < 0) throw invalidArgument(`offsets[${i}].partition`, "must be >= 0");
    return {
      topic: o.topic,
      partition: o.partition,
      offset: requireOffset(o.offset || "0", `offsets[${i}].offset`),
      metadata: "",
    };
  });
}

/** The gRPC methods of OffsetTranslationService over the core. */
export function offsetsHandlers(core: OffsetsCore, metrics: OffsetsMetrics) {
  const measured = measuredBy(metrics);
  return {
    translateOffsets: measured(
      "TranslateOffsets",
      async (request: Req<offsetsV1.TranslateOffsetsRequest>) => {
        const positions = positionsOf(request);
        const flow = requireReplicated(core, request.flow);
        return { offsets: core.translate(flow, positions).map(translationMessage) };
      },
    ),

    translateGroupOffsets: measured(
      "TranslateGroupOffsets",
      async (request: Req<offsetsV1.TranslateGroupOffsetsRequest>) => {
        const group = requireNonEmpty(request.group, "group");
        const topics = topicList(request.topics);
        const flow = requireReplicated(core, request.flow);
        const answer = await core.translateGroup(flow, group, topics);
        return {
          offsets: answer.translations.map(translationMessage),
          readTime: timestampFromMs(answer.readTime),
          fromCheckpoints: answer.fromCheckpoints,
          checkpointAgeMs: String(answer.checkpointAgeMs),
        };
      },
    ),

    listCheckpoints: measured(
      "ListCheckpoints",
      async (request: Req<offsetsV1.ListCheckpointsRequest>) => listCheckpoints(core, request),
    ),

    commitTranslatedOffsets: measured(
      "CommitTranslatedOffsets",
      async (request: Req<offsetsV1.CommitTranslatedOffsetsRequest>, context: HandlerContext) =>
        commitTranslatedOffsets(core, metrics, request, context),
    ),
  };
}

/** Wraps a handler so that each call counts, is timed and counts its error code when it fails. */
function measuredBy(metrics: OffsetsMetrics) {
  return <I, O>(method: string, fn: (request: I, context: HandlerContext) => Promise<O>) =>
    async (request: I, context: HandlerContext): Promise<O> => {
      metrics.translations.inc({ method });
      const end = metrics.translateSeconds.startTimer({ method });
      try {
        return await fn(request, context);
      } catch (error) {
        metrics.translationErrors.inc({ method, code: GeoError.from(error).codeName });
        throw error;
      } finally {
        end();
      }
    };
}

/** The named flow, once it has replicated records (else nothing can be translated). */
function requireReplicated(core: OffsetsCore, flowName: string): OffsetsFlow {
  const flow = core.flow(requireNonEmpty(flowName, "flow"));
  if (!core.index.hasFlow(flow.name)) {
    throw new GeoError(
      Code.FAILED_PRECONDITION,
      `flow "${flow.name}" has not replicated any records into "${flow.target}" yet, so no offset can be translated; retry once its agents have copied data`,
      { details: { flow: flow.name } },
    );
  }
  return flow;
}

/** A page of the stored checkpoints, each said exact only while it still translates the same. */
function listCheckpoints(core: OffsetsCore, request: Req<offsetsV1.ListCheckpointsRequest>) {
  const flow = core.flow(requireNonEmpty(request.flow, "flow"));
  const stored = core.checkpointsOf(flow, request.group || undefined);
  const page = paginate(stored, request, { defaultSize: 500, maxSize: 5000 });
  const now = Date.now();
  return {
    checkpoints: page.items.map((c) => {
      const current = core.translate(flow, [
        {
          topic: c.sourceTopic,
          partition: c.partition,
          offset: c.upstreamOffset,
          metadata: "",
        },
      ])[0]!;
      return {
        group: c.group,
        sourceTopic: c.sourceTopic,
        partition: c.partition,
        targetTopic: c.topic,
        sourceOffset: offsetToProto(c.upstreamOffset),
        targetOffset: offsetToProto(c.downstreamOffset),
        exact: current.exact && current.targetOffset === c.downstreamOffset,
        metadata: c.metadata,
        checkpointTime: timestampFromMs(c.time),
        ageMs: String(now - Math.max(c.time, c.confirmed)),
      };
    }),
    nextPageToken: page.nextPageToken,
  };
}

/** Translates a group's offsets across the flow (or home, `toOrigin`) and commits them. */
async function commitTranslatedOffsets(
  core: OffsetsCore,
  metrics: OffsetsMetrics,
  request: Req<offsetsV1.CommitTranslatedOffsetsRequest>,
  context: HandlerContext,
) {
  const group = requireNonEmpty(request.group, "group");
  const topics = topicList(request.topics);
  // Mapping home needs no replicated record up front: a group that read none of the flow's
  // remote topics gets NOT_FOUND, a partition the index lacks is NOT_YET_REPLICATED.
  const flow = request.toOrigin
    ? core.flow(requireNonEmpty(request.flow, "flow"))
    : requireReplicated(core, request.flow);
  const actor = resolveActor(request.actor, context);
  const answer = request.toOrigin
    ? await originGroup(core, flow, group, topics)
    : await core.translateGroup(flow, group, topics);
  const outcomes = await commitTranslations(
    flow,
    group,
    answer.translations,
    core,
    request.dryRun,
    request.toOrigin ? flow.source : flow.target,
  );
  const committed = outcomes.filter((o) => o.committed).length;
  if (!request.dryRun && committed > 0) {
    metrics.groupCommits.inc({ flow: flow.name, trigger: "request" }, committed);
  }
  core.logger.info(
    {
      flow: flow.name,
      group,
      actor,
      dryRun: request.dryRun,
      toOrigin: request.toOrigin,
      committed,
      partitions: outcomes.length,
    },
    "offsets: CommitTranslatedOffsets",
  );
  return {
    dryRun: request.dryRun,
    offsets: outcomes.map((o) => ({
      translation: translationMessage(o.translation),
      previousTargetOffset: offsetToProto(o.previousTargetOffset),
      committed: o.committed,
      reason: o.reason,
    })),
  };
}
