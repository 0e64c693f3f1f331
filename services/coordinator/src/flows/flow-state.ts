// The coordinator's view of every flow: the config file's, fixed for the life of the process, and
// the API's as last read from the flow log. Reads of the log and changes take turns (exclusive),
// so each change starts from a view that includes the one before it.
import type { FlowConfig } from "@geo/config";
import { Code, GeoError } from "@geo/grpc";
import type { Logger } from "@geo/logging";
import { type ApiFlow, applyFlowChange, type FlowChange } from "./flow-changes";
import type { FlowLog } from "./flow-log";

export type FlowEntry =
  | { readonly owner: "file"; readonly config: FlowConfig }
  | { readonly owner: "api"; readonly config: FlowConfig; readonly api: ApiFlow };

/** How old a read of the flow log a change may start from; see loadRecent. */
const RECENT_LOAD_MS = 250;

export class FlowState {
  /** The API's flows as of the last load, including any a file flow shadows. */
  apiFlows = new Map<string, ApiFlow>();
  /** The changes the log applied and the refusals, oldest first. */
  history: FlowChange[] = [];
  /** False until a load succeeded: before that, API flows are unknown, not absent. */
  loaded = false;
  private loadedAt = Number.NEGATIVE_INFINITY;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly fileFlows: ReadonlyMap<string, FlowConfig>,
    readonly log: FlowLog,
    private readonly logger: Logger,
    /** The config file, named when a stored flow has the name of one of its flows. */
    private readonly configPath: string,
  ) {}

  /** Runs `work` once all earlier exclusive work settled. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Reads the whole log again; the flows then reflect every change stored so far. */
  async load(): Promise<void> {
    const changes = await this.readLog();
    const flows = new Map<string, ApiFlow>();
    const applied: FlowChange[] = [];
    for (const change of changes) {
      if (change.kind === "refused" || applyFlowChange(flows, change)) applied.push(change);
      else {
        this.logger.warn(
          { flow: change.flow, version: String(change.version), kind: change.kind },
          "ignored a flow change that does not follow the flow's version (a concurrent writer lost)",
        );
      }
    }
    this.warnShadowed(flows);
    this.apiFlows = flows;
    this.history = applied;
    this.loaded = true;
    this.loadedAt = performance.now();
  }

  /**
   * The log as read at most RECENT_LOAD_MS ago: a burst of change requests (or of hostile ones)
   * shares one read of the log instead of one each. A view that missed a concurrent change only
   * makes this change fail ABORTED at commit, which reads the log again; it is never applied
   * out of order.
   */
  loadRecent(): Promise<void> {
    return performance.now() - this.loadedAt < RECENT_LOAD_MS ? Promise.resolve() : this.load();
  }

  entryOf(name: string): FlowEntry | undefined {
    const file = this.fileFlows.get(name);
    if (file !== undefined) return { owner: "file", config: file };
    const api = this.apiFlows.get(name);
    return api === undefined ? undefined : { owner: "api", config: api.definition, api };
  }

  /** The API's flows a file flow does not shadow. */
  unshadowedApiFlows(): ApiFlow[] {
    return [...this.apiFlows.values()].filter((flow) => !this.fileFlows.has(flow.definition.name));
  }

  private async readLog(): Promise<FlowChange[]> {
    try {
      return await this.log.readAll();
    } catch (error) {
      throw new GeoError(
        Code.UNAVAILABLE,
        `cannot read the flow store (${this.log.description}): ${errorText(error)}; retry when the cluster is reachable`,
        { retriable: true, cause: error },
      );
    }
  }

  /** Warns once (when first seen) of each stored flow named like a file flow. */
  private warnShadowed(flows: ReadonlyMap<string, ApiFlow>): void {
    for (const name of flows.keys()) {
      if (this.fileFlows.has(name) && !this.apiFlows.has(name)) {
        this.logger.warn(
          { flow: name, file: this.configPath },
          "a flow of the flow store has the name of a flow in the config file: the file's wins",
        );
      }
    }
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
