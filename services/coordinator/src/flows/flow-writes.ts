// The admin API's changes to its flows: each checked against ownership, the expected version and
// the limits, validated against every other flow, then committed to the flow log in turn.
import { FLOW_LIMITS, type GeoConfig } from "@geo/config";
import { Code, GeoError } from "@geo/grpc";
import type { Logger } from "@geo/logging";
import type { ApiFlow, FlowChange, FlowChangeKind, FlowDefinition } from "./flow-changes";
import { commitFlowChange } from "./flow-commit";
import { errorText, type FlowEntry, type FlowState } from "./flow-state";
import { validateDraft } from "./flow-validation";

export interface WriteOptions {
  readonly actor: string;
  /** Validate and return the result without storing it. */
  readonly validateOnly?: boolean;
}

export interface FlowWriterOptions {
  readonly config: GeoConfig;
  /** The config file, named in refusals of changes to the flows it owns. */
  readonly file: string;
  readonly logger: Logger;
  readonly now: () => Date;
  /** Called after a change was stored. */
  readonly onChange?: () => void;
}

/** Refused changes stored per minute at most; see FlowRegistry.recordRefusal. */
export const REFUSALS_PER_MINUTE = 30;

export class FlowWriter {
  private readonly refusals = { minute: 0, count: 0 };

  constructor(
    private readonly state: FlowState,
    private readonly options: FlowWriterOptions,
  ) {}

  create(
    draft: Record<string, unknown>,
    { actor, validateOnly }: WriteOptions,
  ): Promise<FlowEntry> {
    return this.state.exclusive(async () => {
      await this.state.loadRecent();
      this.requireNewFlow(typeof draft.name === "string" ? draft.name : "");
      const definition = this.validate({ ...draft, paused: draft.paused ?? false });
      const created = this.change("created", definition.name, 1n, actor, { after: definition });
      if (validateOnly !== true) await this.commit(created);
      return apiEntry(definition, {
        version: 1n,
        createdBy: actor,
        createTime: created.time,
        updateTime: created.time,
      });
    });
  }

  update(
    name: string,
    edit: (current: FlowDefinition) => Record<string, unknown>,
    expectedVersion: bigint,
    { actor, validateOnly }: WriteOptions,
  ): Promise<FlowEntry> {
    return this.state.exclusive(async () => {
      await this.state.loadRecent();
      const current = this.requireApiFlow(name, "change");
      requireVersion(current, expectedVersion);
      const definition = this.validate(
        { ...edit(current.definition), name, paused: current.definition.paused },
        name,
      );
      const updated = this.change("updated", name, current.version + 1n, actor, {
        before: current.definition,
        after: definition,
      });
      if (validateOnly !== true) await this.commit(updated);
      return apiEntry(definition, {
        ...current,
        version: updated.version,
        updateTime: updated.time,
      });
    });
  }

  remove(name: string, expectedVersion: bigint, { actor }: WriteOptions): Promise<FlowEntry> {
    return this.state.exclusive(async () => {
      await this.state.loadRecent();
      const current = this.requireApiFlow(name, "delete");
      requireVersion(current, expectedVersion);
      await this.commit(
        this.change("deleted", name, current.version, actor, { before: current.definition }),
      );
      return apiEntry(current.definition, current);
    });
  }

  setPaused(
    name: string,
    paused: boolean,
    reason: string,
    { actor }: WriteOptions,
  ): Promise<FlowEntry> {
    return this.state.exclusive(async () => {
      await this.state.loadRecent();
      const current = this.requireApiFlow(name, paused ? "pause" : "resume");
      if (current.definition.paused === paused) return apiEntry(current.definition, current);
      const definition = { ...current.definition, paused };
      const toggled = this.change(
        paused ? "paused" : "resumed",
        name,
        current.version + 1n,
        actor,
        {
          before: current.definition,
          after: definition,
          reason,
        },
      );
      await this.commit(toggled);
      return apiEntry(definition, {
        ...current,
        version: toggled.version,
        updateTime: toggled.time,
      });
    });
  }

  /** See FlowRegistry.recordRefusal. */
  async recordRefusal(flow: string, actor: string, reason: string): Promise<void> {
    const { logger } = this.options;
    const minute = Math.floor(this.options.now().getTime() / 60_000);
    if (this.refusals.minute !== minute) Object.assign(this.refusals, { minute, count: 0 });
    if (++this.refusals.count > REFUSALS_PER_MINUTE) {
      logger.warn({ flow, actor }, "refused change not stored: too many refusals this minute");
      return;
    }
    // In turn with the changes: a change that reads the log while this append is in flight
    // would otherwise replace the history without it.
    await this.state.exclusive(async () => {
      const version = this.state.apiFlows.get(flow)?.version ?? 0n;
      try {
        const refused = this.change("refused", flow, version, actor, { reason });
        await this.state.log.append(refused);
        this.state.history.push(refused);
      } catch (error) {
        logger.warn({ flow, actor, err: errorText(error) }, "could not store a refused change");
      }
    });
  }

  /** A change made now unless `fields.time` says when. */
  change(
    kind: FlowChangeKind,
    flow: string,
    version: bigint,
    actor: string,
    fields: { before?: FlowDefinition; after?: FlowDefinition; reason?: string; time?: Date },
  ): FlowChange {
    return {
      flow,
      version,
      kind,
      actor,
      time: fields.time ?? this.options.now(),
      reason: fields.reason ?? "",
      ...(fields.before === undefined ? {} : { before: fields.before }),
      ...(fields.after === undefined ? {} : { after: fields.after }),
    };
  }

  private async commit(change: FlowChange): Promise<void> {
    await commitFlowChange(this.state, change, this.options.logger);
    this.options.onChange?.();
  }

  /** The candidate validated against every other flow; throws INVALID_ARGUMENT naming the field. */
  private validate(draft: Record<string, unknown>, replacing?: string): FlowDefinition {
    return validateDraft(draft, {
      fileFlows: [...this.state.fileFlows.values()],
      apiFlows: this.state
        .unshadowedApiFlows()
        .filter((flow) => flow.definition.name !== replacing)
        .map((flow) => flow.definition),
      clusters: this.options.config.clusters,
      file: this.options.file,
    });
  }

  private requireNewFlow(name: string): void {
    const { fileFlows, apiFlows } = this.state;
    if (fileFlows.has(name)) {
      throw new GeoError(
        Code.ALREADY_EXISTS,
        `flow "${name}" is already defined in the config file ${this.options.file}; choose another name`,
      );
    }
    if (apiFlows.has(name)) {
      throw new GeoError(
        Code.ALREADY_EXISTS,
        `flow "${name}" already exists (version ${apiFlows.get(name)!.version}); choose another name or update it`,
      );
    }
    const count = fileFlows.size + apiFlows.size;
    if (count >= FLOW_LIMITS.maxFlows) {
      throw new GeoError(
        Code.RESOURCE_EXHAUSTED,
        `there are ${count} flows, the limit (maxFlows) is ${FLOW_LIMITS.maxFlows}: delete unused flows or use broader topic patterns`,
      );
    }
  }

  private requireApiFlow(name: string, action: string): ApiFlow {
    const { fileFlows, apiFlows } = this.state;
    if (fileFlows.has(name)) {
      throw new GeoError(
        Code.FAILED_PRECONDITION,
        `flow "${name}" is defined in the config file ${this.options.file}, which owns it: ${action} it there and restart or reload the coordinators`,
      );
    }
    const flow = apiFlows.get(name);
    if (flow === undefined) {
      const names = [...fileFlows.keys(), ...apiFlows.keys()].sort().join(", ") || "none";
      throw new GeoError(Code.NOT_FOUND, `no flow "${name}"; flows: ${names}`);
    }
    return flow;
  }
}

function requireVersion(flow: ApiFlow, expected: bigint): void {
  if (expected !== 0n && expected !== flow.version) {
    throw new GeoError(
      Code.ABORTED,
      `flow "${flow.definition.name}" is at version ${flow.version}, not ${expected}: read it again and retry`,
    );
  }
}

function apiEntry(definition: FlowDefinition, api: Omit<ApiFlow, "definition">): FlowEntry {
  return { owner: "api", config: definition, api: { ...api, definition } };
}
