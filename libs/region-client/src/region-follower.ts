// Follows a flow group's active region through geo.health.v1 WatchRegionState, reconnecting
// with the shared backoff whenever the stream ends (the server stopped, the network broke, the
// long deadline passed), so the clients built on it always know where to produce and consume.
import { runLoop } from "@geo/backoff";
import { createGrpcClient, type GrpcClientOptions } from "@geo/grpc";
import { createLogger, type Logger } from "@geo/logging";
import { type Epoch, epochFromProto } from "@geo/positions";
import { healthV1, ReplicationHealthService } from "@geo/proto";

export interface RegionEndpoint {
  readonly region: string;
  readonly cluster: string;
  readonly bootstrapServers: readonly string[];
}

/** A flow group's state as clients need it. */
export interface RegionView {
  readonly flowGroup: string;
  readonly activeRegion: string;
  readonly epoch: Epoch;
  readonly phase: healthV1.RegionPhase;
  readonly regions: ReadonlyMap<string, RegionEndpoint>;
  /**
   * Whether clients may use the active region now. False while a switchover or failback drains
   * (producers hold their records, consumers commit and leave) or a failover commits offsets.
   */
  readonly open: boolean;
}

export type RegionViewListener = (view: RegionView, previous: RegionView | undefined) => void;

export interface RegionFollowerOptions {
  /** `host:port` of the health service. */
  readonly healthAddress: string;
  readonly flowGroup: string;
  readonly logger?: Logger;
  /** gRPC client options (credentials, metadata). */
  readonly grpc?: Omit<GrpcClientOptions, "address">;
  /** Deadline of one watch stream; it is reopened after. Default 10 minutes. */
  readonly watchTimeoutMs?: number;
}

export interface RegionFollower {
  /** Resolves with the first state received. */
  ready(): Promise<RegionView>;
  current(): RegionView | undefined;
  /** Listener for every later change; returns the unsubscribe function. */
  onChange(listener: RegionViewListener): () => void;
  close(): Promise<void>;
}

const OPEN_PHASES = new Set([healthV1.RegionPhase.STABLE, healthV1.RegionPhase.FAILED_OVER]);

export function toView(state: healthV1.RegionState): RegionView {
  return {
    flowGroup: state.flowGroup,
    activeRegion: state.activeRegion,
    epoch: epochFromProto(state.epoch, "region_state.epoch"),
    phase: state.phase,
    regions: new Map(
      state.regions.map((r) => [
        r.region,
        { region: r.region, cluster: r.cluster, bootstrapServers: r.bootstrapServers },
      ]),
    ),
    open: OPEN_PHASES.has(state.phase),
  };
}

/** The caller's logger (silent when none was given), bound to one of this package's parts. */
export function componentLogger(
  given: Logger | undefined,
  bindings: { component: string } & Record<string, unknown>,
): Logger {
  return (given ?? createLogger({ service: "region-client", level: "silent" })).child(bindings);
}

export function createRegionFollower(options: RegionFollowerOptions): RegionFollower {
  const logger = componentLogger(options.logger, {
    component: "region-follower",
    flowGroup: options.flowGroup,
  });
  const client = createGrpcClient(ReplicationHealthService, {
    ...options.grpc,
    address: options.healthAddress,
  });
  const abort = new AbortController();
  const listeners = new Set<RegionViewListener>();
  let view: RegionView | undefined;
  let resolveReady: (view: RegionView) => void;
  const ready = new Promise<RegionView>((resolve) => {
    resolveReady = resolve;
  });

  const accept = (next: RegionView) => {
    const previous = view;
    // A reconnect repeats the current state; only a real change is passed on.
    if (previous !== undefined && previous.epoch === next.epoch && previous.phase === next.phase)
      return;
    if (previous !== undefined && next.epoch < previous.epoch) return;
    view = next;
    if (previous === undefined) resolveReady(next);
    logger.info(
      { activeRegion: next.activeRegion, epoch: String(next.epoch), open: next.open },
      "region state",
    );
    for (const listener of listeners) listener(next, previous);
  };

  const loop = runLoop(
    async (signal) => {
      const stream = client.watchRegionState(
        { flowGroups: [options.flowGroup] },
        { signal, timeoutMs: options.watchTimeoutMs ?? 600_000 },
      );
      for await (const message of stream)
        if (message.state !== undefined) accept(toView(message.state));
    },
    {
      intervalMs: 0,
      signal: abort.signal,
      initialMs: 100,
      maxMs: 5000,
      onError: (error, delayMs) =>
        abort.signal.aborted ||
        logger.warn({ err: (error as Error).message, delayMs }, "region watch broke; reconnecting"),
    },
  );

  return {
    ready: () => ready,
    current: () => view,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      abort.abort();
      await loop;
      client.close();
    },
  };
}
