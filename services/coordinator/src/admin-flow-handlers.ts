// CoordinatorService's flow methods: reads (a standby forwards them for the status only the
// leader has) and changes (only the leader makes them: a standby forwards them or refuses).
import type { MessageShape } from "@bufbuild/protobuf";
import { FLOW_LIMITS } from "@geo/config";
import {
  Code,
  GeoError,
  type HandlerContext,
  invalidArgument,
  paginate,
  requireInt64,
  requireMaxLength,
  requireNonEmpty,
  requirePresent,
  resolveActor,
} from "@geo/grpc";
import type { CoordinatorService } from "@geo/proto";
import type { AdminApiOptions, AdminHandlers, AdminViews } from "./admin-views";
import { draftFromFlow, flowChangeView, updatedDraft } from "./flows/flow-messages";

/** Longest `actor` a request may name, and longest pause/resume reason, both kept in the history. */
const MAX_ACTOR_LENGTH = 256;
const MAX_REASON_LENGTH = 1024;

/** A flow name: present and not longer than any valid name, so errors never echo megabytes. */
function requireName(value: string, field: string): string {
  return requireMaxLength(requireNonEmpty(value, field), field, FLOW_LIMITS.maxNameLength);
}

function actorOf(request: { actor: string }, context: HandlerContext): string {
  requireMaxLength(request.actor, "actor", MAX_ACTOR_LENGTH);
  const actor = resolveActor(request.actor, context).slice(0, MAX_ACTOR_LENGTH);
  // Forwarded to the leader with the name resolved here, where the caller's peer is known.
  request.actor = actor;
  return actor;
}

export function flowReadHandlers(
  { config, configPath, forwarder }: AdminApiOptions,
  views: AdminViews,
): AdminHandlers<"listFlows" | "getFlow" | "listFlowChanges"> {
  return {
    listFlows: async (request, context) => {
      const forwarded = await forwarder?.forward("listFlows", request, context);
      if (forwarded !== undefined) return forwarded;
      for (const [field, alias] of [
        ["source_cluster", request.sourceCluster],
        ["target_cluster", request.targetCluster],
      ] as const) {
        if (alias !== "" && config.clusters[alias] === undefined) {
          throw invalidArgument(
            field,
            `no cluster "${alias}"; known clusters: ${views.knownAliases()}`,
          );
        }
      }
      const matching = views
        .flowsKnown()
        .list()
        .filter(
          ({ config: flow }) =>
            (request.sourceCluster === "" || flow.source === request.sourceCluster) &&
            (request.targetCluster === "" || flow.target === request.targetCluster),
        );
      const { items, nextPageToken } = paginate(matching, request);
      return { flows: items.map((entry) => views.flowView(entry)), nextPageToken };
    },

    getFlow: async (request, context) => {
      requireName(request.name, "name");
      const forwarded = await forwarder?.forward("getFlow", request, context);
      if (forwarded !== undefined) return forwarded;
      return { flow: views.flowView(views.requireFlow(request.name)) };
    },

    listFlowChanges: async (request, context) => {
      const forwarded = await forwarder?.forward("listFlowChanges", request, context);
      if (forwarded !== undefined) return forwarded;
      const changes = views
        .flowsKnown()
        .changes()
        .filter((change) => request.flow === "" || change.flow === request.flow);
      if (request.flow !== "" && changes.length === 0) {
        throw new GeoError(
          Code.NOT_FOUND,
          `no flow "${request.flow}" and no recorded change of one; flows: ${views.knownFlows()}`,
        );
      }
      const { items, nextPageToken } = paginate(changes, request);
      return {
        changes: items.map((change) => flowChangeView(change, configPath)),
        nextPageToken,
      };
    },
  };
}

export function flowWriteHandlers(
  options: AdminApiOptions,
  views: AdminViews,
): AdminHandlers<"createFlow" | "updateFlow" | "deleteFlow" | "pauseFlow" | "resumeFlow"> {
  const { registry, forwarder } = options;
  return {
    createFlow: async (request, context) => {
      const flow = requirePresent(request.flow, "flow");
      requireName(flow.name, "flow.name");
      const actor = actorOf(request, context);
      const forwarded = await forwarder?.forwardWrite("createFlow", request, context);
      if (forwarded !== undefined) return forwarded;
      const entry = await registry.create(draftFromFlow(flow), {
        actor,
        validateOnly: request.validateOnly,
      });
      return { flow: views.flowView(entry, !request.validateOnly) };
    },

    updateFlow: async (request, context) => {
      const flow = requirePresent(request.flow, "flow");
      requireName(flow.name, "flow.name");
      requireNonEmpty(request.expectedVersion, "expected_version");
      const expected = requireInt64(request.expectedVersion, "expected_version", { min: 1n });
      const paths = request.updateMask?.paths ?? [];
      const actor = actorOf(request, context);
      const forwarded = await forwarder?.forwardWrite("updateFlow", request, context);
      if (forwarded !== undefined) return forwarded;
      const entry = await registry.update(
        flow.name,
        (current) => updatedDraft(current, flow, paths),
        expected,
        { actor, validateOnly: request.validateOnly },
      );
      return { flow: views.flowView(entry, !request.validateOnly) };
    },

    deleteFlow: async (request, context) => {
      requireName(request.name, "name");
      const expected = requireInt64(request.expectedVersion || "0", "expected_version", {
        min: 0n,
      });
      const actor = actorOf(request, context);
      const forwarded = await forwarder?.forwardWrite("deleteFlow", request, context);
      if (forwarded !== undefined) return forwarded;
      return {
        flow: views.flowView(await registry.remove(request.name, expected, { actor }), false),
      };
    },

    pauseFlow: (request, context) => setPaused(options, views, "pauseFlow", request, context),
    resumeFlow: (request, context) => setPaused(options, views, "resumeFlow", request, context),
  };
}

/** The fields PauseFlowRequest and ResumeFlowRequest share. */
type PauseRequest = { name: string; reason: string; actor: string };

/** PauseFlow and ResumeFlow, whose requests and answers differ only in their names. */
async function setPaused<M extends "pauseFlow" | "resumeFlow">(
  { registry, forwarder }: AdminApiOptions,
  views: AdminViews,
  method: M,
  request: MessageShape<(typeof CoordinatorService)["method"][M]["input"]> & PauseRequest,
  context: HandlerContext,
) {
  requireName(request.name, "name");
  requireMaxLength(request.reason, "reason", MAX_REASON_LENGTH);
  const actor = actorOf(request, context);
  const forwarded = await forwarder?.forwardWrite(method, request, context);
  if (forwarded !== undefined) return forwarded;
  const paused = method === "pauseFlow";
  return {
    flow: views.flowView(await registry.setPaused(request.name, paused, request.reason, { actor })),
  };
}
