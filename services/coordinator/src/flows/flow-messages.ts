// The admin API's Flow messages ↔ the registry's definitions in the config file's shape, so one
// set of rules (validateFlows) judges flows from the file and from the API alike.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invalidArgument, requireEnum } from "@geo/grpc";
import { coordinatorV1, replicationV1 } from "@geo/proto";
import { fileFlowView } from "../cluster-and-flow-views";
import type { FlowChange, FlowChangeKind, FlowDefinition } from "./flow-changes";
import type { FlowEntry } from "./flow-registry";

type FlowInit = MessageInitShape<typeof coordinatorV1.FlowSchema>;
type FlowChangeInit = MessageInitShape<typeof coordinatorV1.FlowChangeSchema>;

const NAMING = new Map<replicationV1.NamingPolicy, FlowDefinition["naming"]>([
  [replicationV1.NamingPolicy.PREFIX, "prefix"],
  [replicationV1.NamingPolicy.IDENTITY, "identity"],
]);
const START = new Map<replicationV1.StartPosition, FlowDefinition["startFrom"]>([
  [replicationV1.StartPosition.EARLIEST, "earliest"],
  [replicationV1.StartPosition.LATEST, "latest"],
]);
const OUT_OF_RANGE = new Map<
  replicationV1.OffsetOutOfRangePolicy,
  FlowDefinition["onOffsetOutOfRange"]
>([
  [replicationV1.OffsetOutOfRangePolicy.FAIL, "fail"],
  [replicationV1.OffsetOutOfRangePolicy.RESET_EARLIEST, "earliest"],
  [replicationV1.OffsetOutOfRangePolicy.RESET_LATEST, "latest"],
]);

/** Mutable fields of the settings a flow's definition holds, by their API name. */
const MUTABLE = [
  "topics",
  "provenance_header",
  "start_position",
  "on_offset_out_of_range",
] as const;
type MutableField = (typeof MUTABLE)[number];
const IMMUTABLE = new Map([
  ["name", "a flow's name"],
  ["source_cluster", "a flow's source"],
  ["target_cluster", "a flow's target"],
  ["naming_policy", "the naming policy, since renaming would orphan the copied data,"],
]);
const OUTPUT_ONLY = new Set(["owner", "version", "create_time", "update_time", "status"]);

/** Settings of `flow` named in `fields` (besides topics); unspecified enums become undefined. */
function mutableSettings(flow: coordinatorV1.Flow, fields: ReadonlySet<string>) {
  const settings: Record<string, unknown> = {};
  const enumOf = <E extends number, V>(
    value: E,
    schema: Parameters<typeof requireEnum>[1],
    field: string,
    map: ReadonlyMap<E, V>,
  ) => map.get(requireEnum(value, schema, field, { allowUnspecified: true }));
  if (fields.has("provenance_header")) settings.provenanceHeader = flow.provenanceHeader;
  if (fields.has("start_position")) {
    settings.startFrom = enumOf(
      flow.startPosition,
      replicationV1.StartPositionSchema,
      "flow.start_position",
      START,
    );
  }
  if (fields.has("on_offset_out_of_range")) {
    settings.onOffsetOutOfRange = enumOf(
      flow.onOffsetOutOfRange,
      replicationV1.OffsetOutOfRangePolicySchema,
      "flow.on_offset_out_of_range",
      OUT_OF_RANGE,
    );
  }
  return settings;
}

/** A CreateFlow request's flow as a draft for the registry (output-only fields ignored). */
export function draftFromFlow(flow: coordinatorV1.Flow): Record<string, unknown> {
  const naming = NAMING.get(
    requireEnum(flow.namingPolicy, replicationV1.NamingPolicySchema, "flow.naming_policy", {
      allowUnspecified: true,
    }),
  );
  const draft: Record<string, unknown> = {
    name: flow.name,
    source: flow.sourceCluster,
    target: flow.targetCluster,
    ...mutableSettings(flow, new Set(MUTABLE)),
  };
  // As in the file: no filter means every topic.
  if (flow.topics !== undefined) {
    draft.topics = { include: [...flow.topics.include], exclude: [...flow.topics.exclude] };
  }
  if (naming !== undefined) draft.naming = naming;
  return stripUndefined(draft);
}

/**
 * The definition an UpdateFlow request asks for: the fields its mask names (every mutable field
 * when the mask is empty) from the request, the rest as they are.
 */
export function updatedDraft(
  current: FlowDefinition,
  flow: coordinatorV1.Flow,
  maskPaths: readonly string[],
): Record<string, unknown> {
  maskPaths.forEach((path, index) => {
    const field = `update_mask.paths[${index}]`;
    const top = path.split(".", 1)[0]!;
    const immutable = IMMUTABLE.get(top);
    if (immutable !== undefined) {
      throw invalidArgument(field, `"${path}" cannot change: ${immutable} is fixed at creation`);
    }
    if (top === "paused") {
      throw invalidArgument(field, '"paused" changes through PauseFlow and ResumeFlow');
    }
    if (OUTPUT_ONLY.has(top)) throw invalidArgument(field, `"${path}" is output only`);
    if (!(MUTABLE as readonly string[]).includes(top) || (top !== "topics" && path !== top)) {
      throw invalidArgument(
        field,
        `"${path}" is not a field of Flow that can change; use one of ${MUTABLE.join(", ")}, topics.include, topics.exclude`,
      );
    }
  });
  const full = maskPaths.length === 0;
  if (full) {
    // A full replacement may repeat the immutable fields, but not change them.
    const given: [string, string, string][] = [
      ["flow.source_cluster", flow.sourceCluster, current.source],
      ["flow.target_cluster", flow.targetCluster, current.target],
    ];
    for (const [field, value, now] of given) {
      if (value !== "" && value !== now) {
        throw invalidArgument(field, `cannot change from "${now}": create another flow instead`);
      }
    }
    const naming = NAMING.get(flow.namingPolicy);
    if (naming !== undefined && naming !== current.naming) {
      throw invalidArgument(
        "flow.naming_policy",
        `cannot change from ${current.naming}: renaming would orphan the copied data`,
      );
    }
  }
  const fields = new Set<string>(full ? MUTABLE : maskPaths);
  const settings = mutableSettings(flow, fields);
  const topics = { ...current.topics };
  if (fields.has("topics") || fields.has("topics.include")) {
    topics.include = flow.topics?.include ?? [];
  }
  if (fields.has("topics") || fields.has("topics.exclude")) {
    topics.exclude = flow.topics?.exclude ?? [];
  }
  if (full && flow.topics === undefined) {
    // As in the file: no filter means every topic.
    topics.include = [".*"];
    topics.exclude = [];
  }
  const defaults: Partial<Record<MutableField, unknown>> = full
    ? { start_position: "earliest", on_offset_out_of_range: "fail" }
    : {};
  return stripUndefined({
    ...current,
    topics,
    provenanceHeader: settings.provenanceHeader ?? current.provenanceHeader,
    startFrom: settings.startFrom ?? defaults.start_position ?? current.startFrom,
    onOffsetOutOfRange:
      settings.onOffsetOutOfRange ?? defaults.on_offset_out_of_range ?? current.onOffsetOutOfRange,
  });
}

/** The API view of a flow, without status. */
export function flowView(entry: FlowEntry, configPath: string): FlowInit {
  if (entry.owner === "file") return { ...fileFlowView(entry.config, configPath), version: "1" };
  return {
    ...fileFlowView(entry.config, configPath),
    owner: apiOwner(entry.api.createdBy),
    version: String(entry.api.version),
    createTime: timestampFromDate(entry.api.createTime),
    updateTime: timestampFromDate(entry.api.updateTime),
  };
}

const KIND = new Map<FlowChangeKind, coordinatorV1.FlowChangeKind>([
  ["created", coordinatorV1.FlowChangeKind.CREATED],
  ["updated", coordinatorV1.FlowChangeKind.UPDATED],
  ["deleted", coordinatorV1.FlowChangeKind.DELETED],
  ["paused", coordinatorV1.FlowChangeKind.PAUSED],
  ["resumed", coordinatorV1.FlowChangeKind.RESUMED],
  ["refused", coordinatorV1.FlowChangeKind.REFUSED],
]);

export function flowChangeView(change: FlowChange, configPath: string): FlowChangeInit {
  const fileActor = change.actor.startsWith("file:");
  const definitionView = (definition: FlowDefinition): FlowInit => {
    const view = fileFlowView(definition, configPath);
    return fileActor ? view : { ...view, owner: apiOwner("") };
  };
  return {
    flow: change.flow,
    version: String(change.version),
    actor: change.actor,
    changeTime: timestampFromDate(change.time),
    kind: KIND.get(change.kind) ?? coordinatorV1.FlowChangeKind.UNSPECIFIED,
    reason: change.reason,
    ...(change.before === undefined ? {} : { before: definitionView(change.before) }),
    ...(change.after === undefined ? {} : { after: definitionView(change.after) }),
  };
}

function apiOwner(createdBy: string): coordinatorV1.FlowOwner {
  return create(coordinatorV1.FlowOwnerSchema, { owner: { case: "api", value: { createdBy } } });
}

function stripUndefined(draft: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(draft).filter(([, value]) => value !== undefined));
}
