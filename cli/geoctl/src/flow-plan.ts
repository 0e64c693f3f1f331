// What `flows apply` would do to bring the running flows to a file's: per flow, create, update
// (which settings change), pause or resume, nothing, or refuse (owned by the config file, or an
// immutable setting differs). `flows diff` prints the plan; `flows apply` carries it out.
import type { FlowConfig } from "@geo/config";
import type { coordinatorV1 } from "@geo/proto";
import { apiSettings, type FlowSettings, fileSettings } from "./flow-file";

export type PlanAction = "create" | "update" | "unchanged" | "refused";

export interface FlowChangeField {
  field: string;
  running?: unknown;
  desired: unknown;
}

export interface FlowPlan {
  flow: string;
  action: PlanAction;
  /** The settings that differ (for create: every setting, with no running value). */
  changes: FlowChangeField[];
  /** Why refused. */
  reason?: string;
  /** The running flow's version, for UpdateFlow's expected_version. */
  version?: string;
  /** Whether the definition (not only `paused`) changes. */
  definitionChanges: boolean;
}

const IMMUTABLE: readonly (keyof FlowSettings)[] = ["source", "target", "naming"];
const FIELD_NAMES: Record<keyof FlowSettings, string> = {
  source: "source",
  target: "target",
  include: "topics.include",
  exclude: "topics.exclude",
  naming: "naming",
  provenanceHeader: "provenanceHeader",
  startFrom: "startFrom",
  onOffsetOutOfRange: "onOffsetOutOfRange",
  paused: "paused",
};

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The plan for one desired flow against the running one (undefined when it does not exist). */
export function planFlow(desired: FlowConfig, running: coordinatorV1.Flow | undefined): FlowPlan {
  const want = fileSettings(desired);
  if (running === undefined) {
    const changes = (Object.keys(want) as (keyof FlowSettings)[]).map((key) => ({
      field: FIELD_NAMES[key],
      desired: want[key],
    }));
    return { flow: desired.name, action: "create", changes, definitionChanges: true };
  }
  const have = apiSettings(running);
  const changes: FlowChangeField[] = [];
  for (const key of Object.keys(want) as (keyof FlowSettings)[]) {
    if (!same(want[key], have[key])) {
      changes.push({ field: FIELD_NAMES[key], running: have[key], desired: want[key] });
    }
  }
  const base = { flow: desired.name, changes, version: running.version };
  const definitionChanges = changes.some((change) => change.field !== "paused");
  if (changes.length === 0) return { ...base, action: "unchanged", definitionChanges };
  if (running.owner?.owner.case === "file") {
    return {
      ...base,
      action: "refused",
      definitionChanges,
      reason: `defined in the config file ${running.owner.owner.value.path}, which owns it: change it there`,
    };
  }
  const fixed = changes.find((change) =>
    IMMUTABLE.some((key) => FIELD_NAMES[key] === change.field),
  );
  if (fixed !== undefined) {
    return {
      ...base,
      action: "refused",
      definitionChanges,
      reason: `${fixed.field} cannot change (${JSON.stringify(fixed.running)} -> ${JSON.stringify(fixed.desired)}): delete the flow and create it again, or give the new one another name`,
    };
  }
  return { ...base, action: "update", definitionChanges };
}

/** "field: running -> desired" for humans. */
export function changeText(change: FlowChangeField): string {
  const value = (v: unknown) => (Array.isArray(v) ? `[${v.join(", ")}]` : String(v));
  return change.running === undefined
    ? `${change.field}: ${value(change.desired)}`
    : `${change.field}: ${value(change.running)} -> ${value(change.desired)}`;
}
