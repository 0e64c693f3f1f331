// Every flow the coordinator knows: those of the config file (owned by the file, never changed
// here) and those created through the admin API (owned by the API, persisted in the flow log).
// Changes are validated against all other flows with the file's own rules (validateFlows), made
// one at a time, written to the log, and confirmed by reading the log back: only a change the
// log's order applied is reported done, so two coordinators briefly both leading cannot both
// succeed with the same version.
import {
  ConfigError,
  type ConfigIssue,
  FLOW_LIMITS,
  type FlowConfig,
  type GeoConfig,
  validateFlows,
} from "@geo/config";
import { Code, GeoError, invalidArgument } from "@geo/grpc";
import type { Logger } from "@geo/logging";
import {
  type ApiFlow,
  applyFlowChange,
  encodeFlowChange,
  type FlowChange,
  type FlowChangeKind,
  type FlowDefinition,
} from "./flow-changes";
import type { FlowLog } from "./flow-log";

export type FlowEntry =
  | { readonly owner: "file"; readonly config: FlowConfig }
  | { readonly owner: "api"; readonly config: FlowConfig; readonly api: ApiFlow };

export interface WriteOptions {
  readonly actor: string;
  /** Validate and return the result without storing it. */
  readonly validateOnly?: boolean;
}

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

/**
 * Largest flow change record written: below Kafka's default 1 MB `message.max.bytes`, so the
 * store's cluster never has to refuse it (FLOW_LIMITS keeps valid flows far below this).
 */
export const MAX_CHANGE_BYTES = 900_000;

export function createFlowRegistry(options: FlowRegistryOptions): FlowRegistry {
  const { config, configPath, log } = options;
  const logger = options.logger.child({ component: "flows" });
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const fileFlows = new Map(config.flows.map((flow) => [flow.name, flow]));
  const fileActor = `file:${configPath || config.source}`;
  let apiFlows = new Map<string, ApiFlow>();
  let history: FlowChange[] = [];
  let isLoaded = false;
  let queue: Promise<unknown> = Promise.resolve();
  const refusals = { minute: 0, count: 0 };
  let loadedAt = Number.NEGATIVE_INFINITY;

  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const result = queue.then(work);
    queue = result.catch(() => undefined);
    return result;
  };

  const entryOf = (name: string): FlowEntry | undefined => {
    const file = fileFlows.get(name);
    if (file !== undefined) return { owner: "file", config: file };
    const api = apiFlows.get(name);
    return api === undefined ? undefined : { owner: "api", config: api.definition, api };
  };

  async function load(): Promise<void> {
    let changes: FlowChange[];
    try {
      changes = await log.readAll();
    } catch (error) {
      throw new GeoError(
        Code.UNAVAILABLE,
        `cannot read the flow store (${log.description}): ${errorText(error)}; retry when the cluster is reachable`,
        { retriable: true, cause: error },
      );
    }
    const flows = new Map<string, ApiFlow>();
    const applied: FlowChange[] = [];
    for (const change of changes) {
      if (change.kind === "refused" || applyFlowChange(flows, change)) applied.push(change);
      else {
        logger.warn(
          { flow: change.flow, version: String(change.version), kind: change.kind },
          "ignored a flow change that does not follow the flow's version (a concurrent writer lost)",
        );
      }
    }
    for (const name of flows.keys()) {
      if (fileFlows.has(name) && !apiFlows.has(name)) {
        logger.warn(
          { flow: name, file: configPath },
          "a flow of the flow store has the name of a flow in the config file: the file's wins",
        );
      }
    }
    apiFlows = flows;
    history = applied;
    isLoaded = true;
    loadedAt = performance.now();
  }

  /**
   * The log as read at most RECENT_LOAD_MS ago: a burst of change requests (or of hostile ones)
   * shares one read of the log instead of one each. A view that missed a concurrent change only
   * makes this change fail ABORTED at commit, which reads the log again; it is never applied
   * out of order.
   */
  const loadRecent = (): Promise<void> =>
    performance.now() - loadedAt < RECENT_LOAD_MS ? Promise.resolve() : load();

  /** The candidate validated against every other flow; throws INVALID_ARGUMENT naming the field. */
  const validate = (draft: Record<string, unknown>, replacing?: string): FlowDefinition => {
    const others: unknown[] = [
      ...fileFlows.values(),
      ...[...apiFlows.values()]
        .filter(
          (flow) => flow.definition.name !== replacing && !fileFlows.has(flow.definition.name),
        )
        .map((flow) => flow.definition),
    ];
    const own = (issues: readonly ConfigIssue[]) =>
      issues.filter((issue) => issueIndex(issue) === others.length);
    try {
      return definitionOf(validateFlows([...others, draft], config.clusters).at(-1)!);
    } catch (error) {
      if (!ConfigError.is(error)) throw error;
      const mine = own(error.issues);
      if (mine.length > 0) {
        // Indexes below fileFlows.size are the file's flows, which only the file can narrow.
        const file = configPath || config.source;
        throw validationError(mine, (index) =>
          index < fileFlows.size ? ` (defined in the config file ${file}, which owns it)` : "",
        );
      }
    }
    // Only other flows are inconsistent (the file changed under them): judge this one alone.
    try {
      return definitionOf(validateFlows([draft], config.clusters).at(-1)!);
    } catch (error) {
      if (!ConfigError.is(error)) throw error;
      throw validationError(error.issues);
    }
  };

  const requireApiFlow = (name: string, action: string): ApiFlow => {
    if (fileFlows.has(name)) {
      throw new GeoError(
        Code.FAILED_PRECONDITION,
        `flow "${name}" is defined in the config file ${configPath || config.source}, which owns it: ${action} it there and restart or reload the coordinators`,
      );
    }
    const flow = apiFlows.get(name);
    if (flow === undefined) {
      const names = [...fileFlows.keys(), ...apiFlows.keys()].sort().join(", ") || "none";
      throw new GeoError(Code.NOT_FOUND, `no flow "${name}"; flows: ${names}`);
    }
    return flow;
  };

  const requireVersion = (flow: ApiFlow, expected: bigint) => {
    if (expected !== 0n && expected !== flow.version) {
      throw new GeoError(
        Code.ABORTED,
        `flow "${flow.definition.name}" is at version ${flow.version}, not ${expected}: read it again and retry`,
      );
    }
  };

  /** Stores `change` and confirms the log applied it. */
  const commit = async (change: FlowChange): Promise<void> => {
    const bytes = encodeFlowChange(change).length;
    if (bytes > MAX_CHANGE_BYTES) {
      throw invalidArgument(
        "flow",
        `the change would be stored as ${bytes} bytes, more than the flow store's limit of ${MAX_CHANGE_BYTES}: use fewer or shorter topic patterns`,
      );
    }
    try {
      await log.append(change);
    } catch (error) {
      if (isTooLarge(error)) {
        throw invalidArgument(
          "flow",
          `the flow store (${log.description}) refused the change as too large (${bytes} bytes): use fewer or shorter topic patterns, or raise the topic's max.message.bytes`,
        );
      }
      throw new GeoError(
        Code.UNAVAILABLE,
        `cannot write to the flow store (${log.description}): ${errorText(error)}; nothing was changed, retry`,
        { retriable: true, cause: error },
      );
    }
    await load();
    const after = apiFlows.get(change.flow);
    const applied =
      change.kind === "deleted"
        ? history.some((seen) => sameChange(seen, change))
        : after?.version === change.version && history.some((seen) => sameChange(seen, change));
    if (!applied) {
      throw new GeoError(
        Code.ABORTED,
        `flow "${change.flow}" was changed concurrently by another coordinator; read it again and retry`,
      );
    }
    logger.info(
      {
        flow: change.flow,
        version: String(change.version),
        kind: change.kind,
        actor: change.actor,
      },
      "flow changed",
    );
    options.onChange?.();
  };

  const change = (
    kind: FlowChangeKind,
    flow: string,
    version: bigint,
    actor: string,
    fields: { before?: FlowDefinition; after?: FlowDefinition; reason?: string; time?: Date },
  ): FlowChange => ({
    flow,
    version,
    kind,
    actor,
    time: fields.time ?? now(),
    reason: fields.reason ?? "",
    ...(fields.before === undefined ? {} : { before: fields.before }),
    ...(fields.after === undefined ? {} : { after: fields.after }),
  });

  const apiEntry = (definition: FlowDefinition, api: Omit<ApiFlow, "definition">): FlowEntry => ({
    owner: "api",
    config: definition,
    api: { ...api, definition },
  });

  return {
    load: () => exclusive(load),
    loaded: () => isLoaded,
    flows: () => [
      ...fileFlows.values(),
      ...[...apiFlows.values()]
        .filter((flow) => !fileFlows.has(flow.definition.name))
        .map((flow) => flow.definition),
    ],
    get: entryOf,
    list: () =>
      [...new Set([...fileFlows.keys(), ...apiFlows.keys()])].sort().map((name) => entryOf(name)!),
    changes: () => {
      const fromFile = [...fileFlows.values()].map((flow) =>
        change("created", flow.name, 1n, fileActor, {
          after: definitionOf(flow),
          reason: "defined in the config file",
          time: startedAt,
        }),
      );
      return [...fromFile, ...history].reverse();
    },

    create: (draft, { actor, validateOnly }) =>
      exclusive(async () => {
        await loadRecent();
        const name = typeof draft.name === "string" ? draft.name : "";
        if (fileFlows.has(name)) {
          throw new GeoError(
            Code.ALREADY_EXISTS,
            `flow "${name}" is already defined in the config file ${configPath || config.source}; choose another name`,
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
        const definition = validate({ ...draft, paused: draft.paused ?? false });
        const created = change("created", definition.name, 1n, actor, { after: definition });
        if (validateOnly !== true) await commit(created);
        return apiEntry(definition, {
          version: 1n,
          createdBy: actor,
          createTime: created.time,
          updateTime: created.time,
        });
      }),

    update: (name, edit, expectedVersion, { actor, validateOnly }) =>
      exclusive(async () => {
        await loadRecent();
        const current = requireApiFlow(name, "change");
        requireVersion(current, expectedVersion);
        const definition = validate(
          { ...edit(current.definition), name, paused: current.definition.paused },
          name,
        );
        const updated = change("updated", name, current.version + 1n, actor, {
          before: current.definition,
          after: definition,
        });
        if (validateOnly !== true) await commit(updated);
        return apiEntry(definition, {
          ...current,
          version: updated.version,
          updateTime: updated.time,
        });
      }),

    remove: (name, expectedVersion, { actor }) =>
      exclusive(async () => {
        await loadRecent();
        const current = requireApiFlow(name, "delete");
        requireVersion(current, expectedVersion);
        await commit(
          change("deleted", name, current.version, actor, { before: current.definition }),
        );
        return apiEntry(current.definition, current);
      }),

    setPaused: (name, paused, reason, { actor }) =>
      exclusive(async () => {
        await loadRecent();
        const current = requireApiFlow(name, paused ? "pause" : "resume");
        if (current.definition.paused === paused) return apiEntry(current.definition, current);
        const definition = { ...current.definition, paused };
        const toggled = change(paused ? "paused" : "resumed", name, current.version + 1n, actor, {
          before: current.definition,
          after: definition,
          reason,
        });
        await commit(toggled);
        return apiEntry(definition, {
          ...current,
          version: toggled.version,
          updateTime: toggled.time,
        });
      }),

    recordRefusal: async (flow, actor, reason) => {
      const minute = Math.floor(now().getTime() / 60_000);
      if (refusals.minute !== minute) Object.assign(refusals, { minute, count: 0 });
      if (++refusals.count > REFUSALS_PER_MINUTE) {
        logger.warn({ flow, actor }, "refused change not stored: too many refusals this minute");
        return;
      }
      // In turn with the changes: a change that reads the log while this append is in flight
      // would otherwise replace the history without it.
      await exclusive(async () => {
        const version = apiFlows.get(flow)?.version ?? 0n;
        try {
          const refused = change("refused", flow, version, actor, { reason });
          await log.append(refused);
          history.push(refused);
        } catch (error) {
          logger.warn({ flow, actor, err: errorText(error) }, "could not store a refused change");
        }
      });
    },

    close: () => log.close(),
  };
}

/** How old a read of the flow log a change may start from; see loadRecent. */
const RECENT_LOAD_MS = 250;

/** Refused changes stored per minute at most; see FlowRegistry.recordRefusal. */
export const REFUSALS_PER_MINUTE = 30;

function definitionOf(flow: FlowConfig): FlowDefinition {
  return {
    name: flow.name,
    source: flow.source,
    target: flow.target,
    topics: { include: [...flow.topics.include], exclude: [...flow.topics.exclude] },
    naming: flow.naming,
    provenanceHeader: flow.provenanceHeader,
    startFrom: flow.startFrom,
    onOffsetOutOfRange: flow.onOffsetOutOfRange,
    paused: flow.paused,
    ...(flow.groups === undefined
      ? {}
      : { groups: { include: [...flow.groups.include], exclude: [...flow.groups.exclude] } }),
    ...(flow.syncGroupOffsets === undefined ? {} : { syncGroupOffsets: flow.syncGroupOffsets }),
  };
}

function sameChange(a: FlowChange, b: FlowChange): boolean {
  return (
    a.flow === b.flow &&
    a.version === b.version &&
    a.kind === b.kind &&
    a.actor === b.actor &&
    a.time.getTime() === b.time.getTime()
  );
}

const ISSUE_PATH = /^flows\[(\d+)\](.*)$/;

function issueIndex(issue: ConfigIssue): number | undefined {
  const match = ISSUE_PATH.exec(issue.path);
  return match === null ? undefined : Number(match[1]);
}

/** The file's key names, as the API's Flow message names them. */
const API_FIELDS: Readonly<Record<string, string>> = {
  source: "source_cluster",
  target: "target_cluster",
  naming: "naming_policy",
  provenanceHeader: "provenance_header",
  startFrom: "start_position",
  onOffsetOutOfRange: "on_offset_out_of_range",
  syncGroupOffsets: "sync_group_offsets",
};

/** "flows[3].topics.include[0]" → "flow.topics.include[0]"; "flows[3].source" → "flow.source_cluster". */
export function apiFieldOf(path: string): string {
  const rest = ISSUE_PATH.exec(path)?.[2] ?? "";
  if (rest === "") return "flow";
  const key = /^\.([A-Za-z]+)(.*)$/.exec(rest);
  if (key === null) return `flow${rest}`;
  return `flow.${API_FIELDS[key[1]!] ?? key[1]}${key[2]}`;
}

function validationError(
  issues: readonly ConfigIssue[],
  /** What to say instead of a "(flows[i])" reference to another flow of the validated list. */
  describeIndex: (index: number) => string = () => "",
): GeoError {
  const [first] = issues;
  const problems = issues.map((issue) => {
    // Index references into the validated list mean nothing to an API caller; that the other
    // flow belongs to the config file does: only the file can change it.
    const message = issue.message.replace(/ \(flows\[(\d+)\]\)/g, (_, index: string) =>
      describeIndex(Number(index)),
    );
    return issue === first ? message : `${apiFieldOf(issue.path)}: ${message}`;
  });
  return invalidArgument(apiFieldOf(first?.path ?? ""), problems.join("; "));
}

/** Kafka's "message too large" (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE), as kafkajs reports it. */
function isTooLarge(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    const type = (e as { type?: unknown }).type;
    if (type === "MESSAGE_TOO_LARGE" || type === "RECORD_LIST_TOO_LARGE") return true;
    if (/MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE|larger than the max message size/i.test(e.message))
      return true;
  }
  return false;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
