// The history of API-owned flows as a log of changes, and the flows it adds up to. Each change
// names the flow, the version it produces, who made it, when and why, and the definition before
// and after. The log's order is the truth: a change is applied only when it follows the flow's
// current version, so every coordinator that reads the same log arrives at the same flows, and a
// change written by a deposed leader that lost a race is ignored by everyone alike.

import { CodedError } from "@geo/errors";

export type FlowChangeKind = "created" | "updated" | "deleted" | "paused" | "resumed" | "refused";

/**
 * A flow definition in the config file's shape (keys as in `flows:` of the YAML), fully
 * defaulted, so validateFlows reads it exactly as it reads the file.
 */
export interface FlowDefinition {
  readonly name: string;
  readonly source: string;
  readonly target: string;
  readonly topics: { readonly include: readonly string[]; readonly exclude: readonly string[] };
  readonly naming: "prefix" | "identity";
  readonly provenanceHeader: boolean;
  readonly startFrom: "earliest" | "latest";
  readonly onOffsetOutOfRange: "fail" | "earliest" | "latest";
  readonly paused: boolean;
  /** Absent in records written before the option existed: MirrorMaker 2's default excludes. */
  readonly groups?: { readonly include: readonly string[]; readonly exclude: readonly string[] };
  /** Absent in records written before the option existed: true. */
  readonly syncGroupOffsets?: boolean;
}

export interface ApiFlow {
  readonly definition: FlowDefinition;
  readonly version: bigint;
  readonly createdBy: string;
  readonly createTime: Date;
  readonly updateTime: Date;
}

export interface FlowChange {
  readonly flow: string;
  /** Version after the change; for "deleted", the version deleted. */
  readonly version: bigint;
  readonly kind: FlowChangeKind;
  readonly actor: string;
  readonly time: Date;
  readonly reason: string;
  readonly before?: FlowDefinition;
  readonly after?: FlowDefinition;
}

/** Bumped when the stored format changes incompatibly; older readers skip newer records. */
export const FLOW_CHANGE_FORMAT = 1;

export class FlowChangeFormatError extends CodedError<"FLOW_CHANGE_FORMAT"> {
  constructor(message: string) {
    super("FLOW_CHANGE_FORMAT", message);
  }
}

export function encodeFlowChange(change: FlowChange): Buffer {
  return Buffer.from(
    JSON.stringify({
      format: FLOW_CHANGE_FORMAT,
      flow: change.flow,
      version: change.version.toString(),
      kind: change.kind,
      actor: change.actor,
      time: change.time.toISOString(),
      reason: change.reason,
      ...(change.before === undefined ? {} : { before: change.before }),
      ...(change.after === undefined ? {} : { after: change.after }),
    }),
  );
}

const KINDS: readonly FlowChangeKind[] = [
  "created",
  "updated",
  "deleted",
  "paused",
  "resumed",
  "refused",
];

export function decodeFlowChange(value: Buffer | null): FlowChange {
  if (value === null) throw new FlowChangeFormatError("empty record");
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(value.toString("utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new FlowChangeFormatError(`not JSON: ${(error as Error).message}`);
  }
  if (raw.format !== FLOW_CHANGE_FORMAT) {
    throw new FlowChangeFormatError(`format ${String(raw.format)} is not ${FLOW_CHANGE_FORMAT}`);
  }
  const kind = raw.kind as FlowChangeKind;
  const time = new Date(String(raw.time));
  if (
    typeof raw.flow !== "string" ||
    typeof raw.version !== "string" ||
    !/^[0-9]+$/.test(raw.version) ||
    !KINDS.includes(kind) ||
    typeof raw.actor !== "string" ||
    Number.isNaN(time.getTime())
  ) {
    throw new FlowChangeFormatError("missing or malformed fields");
  }
  return {
    flow: raw.flow,
    version: BigInt(raw.version),
    kind,
    actor: raw.actor,
    time,
    reason: typeof raw.reason === "string" ? raw.reason : "",
    ...(isDefinition(raw.before) ? { before: raw.before } : {}),
    ...(isDefinition(raw.after) ? { after: raw.after } : {}),
  };
}

function isDefinition(value: unknown): value is FlowDefinition {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as FlowDefinition).name === "string"
  );
}

/**
 * Applies `change` to `flows` when it follows the flow's current version; returns whether it
 * did. Creation needs a free name and version 1; every other kind needs the flow at
 * `version - 1` (deletion: at `version`).
 */
export function applyFlowChange(flows: Map<string, ApiFlow>, change: FlowChange): boolean {
  const current = flows.get(change.flow);
  switch (change.kind) {
    case "refused":
      return false; // a record of what was not done; it changes nothing
    case "created":
      if (current !== undefined || change.version !== 1n || change.after === undefined) {
        return false;
      }
      flows.set(change.flow, {
        definition: change.after,
        version: 1n,
        createdBy: change.actor,
        createTime: change.time,
        updateTime: change.time,
      });
      return true;
    case "deleted":
      if (current === undefined || current.version !== change.version) return false;
      flows.delete(change.flow);
      return true;
    default:
      if (
        current === undefined ||
        change.version !== current.version + 1n ||
        change.after === undefined
      ) {
        return false;
      }
      flows.set(change.flow, {
        ...current,
        definition: change.after,
        version: change.version,
        updateTime: change.time,
      });
      return true;
  }
}
