// Every flow the coordinator knows: those of the config file (owned by the file, never changed
// here) and those created through the admin API (owned by the API, persisted in the flow log).
// Changes are validated against all other flows with the file's own rules (flow-validation),
// made one at a time (flow-writes), written to the log, and confirmed by reading the log back
// (flow-commit): only a change the log's order applied is reported done, so two coordinators
// briefly both leading cannot both succeed with the same version.
import type { FlowConfig, GeoConfig } from "@geo/config";
import type { Logger } from "@geo/logging";
import type { FlowChange, FlowDefinition } from "./flow-changes";
import type { FlowLog } from "./flow-log";
import { type FlowEntry, FlowState } from "./flow-state";
import { definitionOf } from "./flow-validation";
import { FlowWriter, type WriteOptions } from "./flow-writes";

export type { FlowEntry } from "./flow-state";
export type { WriteOptions } from "./flow-writes";

export interface FlowRegistry {
  /** Reads the whole log again; the flows then reflect every change stored so far. */
  load(): Promise<void>;
  /** True once a load succeeded: before that, API flows are unknown, not absent. */
  loaded(): boolean;
  /** The flows to discover and assign (file and API). */
  flows(): readonly FlowConfig[];
  get(name: string): FlowEntry | undefined;
  /** In name order. */
  list(): FlowEntry[];
  /** Newest first; the file's flows appear as created by `file:<path>` when this process started. */
  changes(): FlowChange[];
  create(draft: Record<string, unknown>, options: WriteOptions): Promise<FlowEntry>;
  /** `edit` returns the new definition (in the file's shape) from the current one. */
  update(
    name: string,
    edit: (current: FlowDefinition) => Record<string, unknown>,
    expectedVersion: bigint,
    options: WriteOptions,
  ): Promise<FlowEntry>;
  /** Returns the flow as it was; `expectedVersion` 0 deletes whatever version is current. */
  remove(name: string, expectedVersion: bigint, options: WriteOptions): Promise<FlowEntry>;
  setPaused(
    name: string,
    paused: boolean,
    reason: string,
    options: WriteOptions,
  ): Promise<FlowEntry>;
  /**
   * Records in the history that `actor` was refused a change of `flow` (why in `reason`).
   * At most REFUSALS_PER_MINUTE are stored, so refused callers cannot flood the store; the rest
   * are only logged. Never throws.
   */
  recordRefusal(flow: string, actor: string, reason: string): Promise<void>;
  close(): Promise<void>;
}

export interface FlowRegistryOptions {
  readonly config: GeoConfig;
  /** The config file, named in refusals of changes to the flows it owns. */
  readonly configPath: string;
  readonly log: FlowLog;
  readonly logger: Logger;
  /** Called after a change was stored (discovery and assignment pick it up). */
  readonly onChange?: () => void;
  readonly now?: () => Date;
}

export function createFlowRegistry(options: FlowRegistryOptions): FlowRegistry {
  const { config, configPath } = options;
  const logger = options.logger.child({ component: "flows" });
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const file = configPath || config.source;
  const fileFlows = new Map(config.flows.map((flow) => [flow.name, flow]));
  const state = new FlowState(fileFlows, options.log, logger, configPath);
  const writer = new FlowWriter(state, { config, file, logger, now, onChange: options.onChange });
  return {
    load: () => state.exclusive(() => state.load()),
    loaded: () => state.loaded,
    flows: () => [
      ...fileFlows.values(),
      ...state.unshadowedApiFlows().map((flow) => flow.definition),
    ],
    get: (name) => state.entryOf(name),
    list: () =>
      [...new Set([...fileFlows.keys(), ...state.apiFlows.keys()])]
        .sort()
        .map((name) => state.entryOf(name)!),
    changes: () => {
      const fromFile = [...fileFlows.values()].map((flow) =>
        writer.change("created", flow.name, 1n, `file:${file}`, {
          after: definitionOf(flow),
          reason: "defined in the config file",
          time: startedAt,
        }),
      );
      return [...fromFile, ...state.history].reverse();
    },
    create: (draft, writeOptions) => writer.create(draft, writeOptions),
    update: (name, edit, expectedVersion, writeOptions) =>
      writer.update(name, edit, expectedVersion, writeOptions),
    remove: (name, expectedVersion, writeOptions) =>
      writer.remove(name, expectedVersion, writeOptions),
    setPaused: (name, paused, reason, writeOptions) =>
      writer.setPaused(name, paused, reason, writeOptions),
    recordRefusal: (flow, actor, reason) => writer.recordRefusal(flow, actor, reason),
    close: () => options.log.close(),
  };
}
