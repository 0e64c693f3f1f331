// The current flows (from the config file and the coordinator's admin API) for services other
// than the coordinator. They ask the coordinator over gRPC, since it owns the desired state and
// services meet only through protos; until it answers, the file's flows stand in.
import { runLoop } from "@geo/backoff";
import type { GeoConfig } from "@geo/config";
import { createGrpcClient, type GrpcClient, secureClientOptions } from "@geo/grpc";
import type { Logger } from "@geo/logging";
import { CoordinatorService } from "@geo/proto";
import { type CatalogFlow, flowFromConfig, flowFromMessage } from "./catalog-flow";

export interface FlowCatalogOptions {
  config: GeoConfig;
  logger: Logger;
  /** How often the coordinator is asked. Default 5,000 ms. */
  refreshIntervalMs?: number;
  /** Deadline of one ListFlows page. Default 5,000 ms. */
  callTimeoutMs?: number;
  /** Default `config.services.coordinator.address`. */
  coordinatorAddress?: string;
  /** For tests: the coordinator client to use instead of one made from the address. */
  client?: Pick<GrpcClient<typeof CoordinatorService>, "listFlows" | "close">;
}

export interface FlowCatalog {
  /**
   * Resolves after the first answer of the coordinator, or after `timeoutMs` (default 10,000)
   * with the file's flows standing in; never rejects.
   */
  ready(timeoutMs?: number): Promise<void>;
  /** Whether the list reflects an answer of the coordinator (not only the file). */
  readonly fromCoordinator: boolean;
  list(): CatalogFlow[];
  get(name: string): CatalogFlow | undefined;
  /** Called after every change of the set of flows or of one flow's version. */
  onChange(listener: (flows: readonly CatalogFlow[]) => void): () => void;
  close(): Promise<void>;
}

const PAGE_SIZE = 1000;

export function createFlowCatalog(options: FlowCatalogOptions): FlowCatalog {
  const { config, logger } = options;
  const client =
    options.client ??
    createGrpcClient(
      CoordinatorService,
      // TLS and token from the config's grpc section, as every client of another service.
      secureClientOptions(
        config.grpc,
        options.coordinatorAddress ?? config.services.coordinator.address,
        { defaultTimeoutMs: options.callTimeoutMs ?? 5_000 },
      ),
    );
  let flows = new Map(config.flows.map((flow) => [flow.name, flowFromConfig(flow)]));
  let fromCoordinator = false;
  const listeners = new Set<(flows: readonly CatalogFlow[]) => void>();
  const stopping = new AbortController();
  let markReady: () => void = () => {};
  const firstAnswer = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  async function readAll(): Promise<Map<string, CatalogFlow>> {
    const read = new Map<string, CatalogFlow>();
    let pageToken = "";
    do {
      const page = await client.listFlows({ pageSize: PAGE_SIZE, pageToken });
      for (const flow of page.flows) read.set(flow.name, flowFromMessage(flow));
      pageToken = page.nextPageToken;
    } while (pageToken !== "" && !stopping.signal.aborted);
    return read;
  }

  async function refresh(): Promise<void> {
    const read = await readAll();
    const changed = differs(flows, read);
    flows = read;
    if (!fromCoordinator) logger.info({ flows: read.size }, "flows read from the coordinator");
    fromCoordinator = true;
    markReady();
    if (changed) for (const listener of listeners) listener([...flows.values()]);
  }

  const loop = runLoop(refresh, {
    intervalMs: options.refreshIntervalMs ?? 5_000,
    initialMs: 200,
    maxMs: 10_000,
    signal: stopping.signal,
    onError: (error, delayMs, failures) => {
      const log = failures === 1 || failures % 10 === 0 ? logger.warn : logger.debug;
      log.call(
        logger,
        { err: error, retryInMs: Math.round(delayMs), failures },
        "cannot read flows from the coordinator; keeping the last known flows",
      );
    },
  });

  return {
    ready: (timeoutMs = 10_000) =>
      Promise.race([
        firstAnswer,
        new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
      ]),
    get fromCoordinator() {
      return fromCoordinator;
    },
    list: () => [...flows.values()].sort((a, b) => a.name.localeCompare(b.name)),
    get: (name) => flows.get(name),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      stopping.abort();
      await loop;
      client.close();
    },
  };
}

function differs(a: ReadonlyMap<string, CatalogFlow>, b: ReadonlyMap<string, CatalogFlow>) {
  if (a.size !== b.size) return true;
  for (const [name, flow] of b) {
    const before = a.get(name);
    if (before === undefined || before.version !== flow.version || before.paused !== flow.paused) {
      return true;
    }
  }
  return false;
}
