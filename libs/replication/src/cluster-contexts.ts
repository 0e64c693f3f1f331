import type { ClusterConfig } from "@geo/config";
import { CodedError } from "@geo/errors";
import { kafkaClientOptions } from "@geo/kafka";
import {
  createIdempotentProducer,
  createPartitionFetcher,
  createWireClient,
  type IdempotentProducer,
  type KafkaWireClient,
  type PartitionFetcher,
} from "@geo/kafka-wire";
import type { Logger } from "@geo/logging";
import {
  createProgressStore,
  ensureProgressTopics,
  type ProgressStore,
  type UnitKey,
  type UnitProgress,
  unitId,
} from "@geo/progress";
import { BatchLoader } from "./batch-loader";
import { Checkpointer } from "./checkpointer";
import type { EngineMetrics } from "./engine-metrics";
import { type OffsetsLoader, offsetsLoader } from "./offsets-loader";
import { SourceReader } from "./source-reader";
import type { ReplicationEngineOptions } from "./types";
import type { UnitContext } from "./unit-context";

/** A flow names a cluster the engine was not given. Not retriable. */
export class UnknownClusterError extends CodedError<"UNKNOWN_CLUSTER"> {
  constructor(message: string) {
    super("UNKNOWN_CLUSTER", message);
  }
}

/** What the engine reads from one source cluster with. */
export interface SourceContext {
  alias: string;
  client: KafkaWireClient;
  ownClient: boolean;
  fetcher: PartitionFetcher;
  reader: SourceReader;
  offsets: OffsetsLoader;
}

/** What the engine writes to one target cluster with. */
export interface TargetContext {
  alias: string;
  cluster: ClusterConfig;
  client: KafkaWireClient;
  ownClient: boolean;
  store: ProgressStore;
  checkpointer: Checkpointer;
  producers: Map<string, IdempotentProducer>;
  ensured: Promise<void> | null;
  progress: BatchLoader<UnitKey, UnitProgress[]>;
  /** End offsets of remote partitions, whoever wrote them. */
  ends: OffsetsLoader;
  /** Reads remote partitions' tails to count what a resumed unit writes again. */
  tailFetcher: PartitionFetcher | null;
}

/** What the cluster contexts need of their engine. */
export interface ClusterContextsOptions {
  options: ReplicationEngineOptions;
  ctx: UnitContext;
  metrics: EngineMetrics;
  logger: Logger;
  clientId: string;
  /** The most a source fetch may ask for now (the engine's buffer budget left). */
  requestMaxBytes: () => number;
}

/**
 * The engine's clients per cluster, made on first use and shared: for a source cluster its
 * fetcher, fetch scheduler and offset lookups; for a target cluster its progress store,
 * checkpointer, producers (one per flow) and remote-end lookups. One wire client per cluster
 * serves both roles; whoever created it closes it.
 */
export class ClusterContexts {
  readonly sources = new Map<string, SourceContext>();
  readonly targets = new Map<string, TargetContext>();

  constructor(private readonly o: ClusterContextsOptions) {}

  cluster(alias: string): ClusterConfig {
    const c = this.o.options.clusters[alias];
    if (c === undefined) {
      throw new UnknownClusterError(
        `unknown cluster "${alias}" (known: ${Object.keys(this.o.options.clusters).join(", ") || "none"})`,
      );
    }
    return c;
  }

  private client(alias: string): { client: KafkaWireClient; own: boolean } {
    const given = this.o.options.wireClients?.[alias];
    if (given !== undefined) return { client: given, own: false };
    for (const s of this.sources.values()) {
      if (s.alias === alias) return { client: s.client, own: false };
    }
    for (const t of this.targets.values()) {
      if (t.alias === alias) return { client: t.client, own: false };
    }
    const cluster = this.cluster(alias);
    const logger = this.o.logger.child({ cluster: alias });
    const client = createWireClient(
      kafkaClientOptions(cluster, { clientId: this.o.clientId, logger }),
      { logger },
    );
    return { client, own: true };
  }

  source(alias: string): SourceContext {
    let s = this.sources.get(alias);
    if (s !== undefined) return s;
    this.cluster(alias);
    const { client, own } = this.client(alias);
    const maxWaitMs = this.o.options.fetchMaxWaitMs ?? 500;
    const fetcher = createPartitionFetcher(client, {
      isolationLevel: "read_committed",
      maxWaitMs,
      partitionMaxBytes: this.o.ctx.partitionMaxBytes,
    });
    const reader = new SourceReader(fetcher, {
      maxWaitMs,
      requestMaxBytes: this.o.requestMaxBytes,
      onUnexpected: (e) =>
        this.o.logger.error({ err: e }, "replication: unexpected error handling a fetch result"),
    });
    s = {
      alias,
      client,
      // The target context may have created the client first: whoever created it closes it.
      ownClient: own,
      fetcher,
      reader,
      offsets: offsetsLoader(client, "read_committed"),
    };
    this.sources.set(alias, s);
    return s;
  }

  target(alias: string): TargetContext {
    let t = this.targets.get(alias);
    if (t !== undefined) return t;
    const cluster = this.cluster(alias);
    const { client, own } = this.client(alias);
    const logger = this.o.logger.child({ cluster: alias });
    const store = createProgressStore(client, {
      deliveryTimeoutMs: this.o.ctx.deliveryTimeoutMs,
      logger,
    });
    const checkpointer = new Checkpointer(store, {
      intervalMs: this.o.options.progressIntervalMs ?? 1000,
      maxBackoffMs: this.o.ctx.maxRetryBackoffMs,
      logger,
      onError: () => this.o.metrics.progressWriteErrors.inc({ cluster: alias }),
    });
    t = {
      alias,
      cluster,
      client,
      ownClient: own,
      store,
      checkpointer,
      producers: new Map(),
      ensured: null,
      progress: new BatchLoader(async (units) => {
        const all = await store.loadAll(units);
        return units.map((u) => all.get(unitId(u)) ?? []);
      }),
      ends: offsetsLoader(client, "read_uncommitted"),
      tailFetcher: null,
    };
    this.targets.set(alias, t);
    return t;
  }

  /** The progress and offset-map topics exist in the target (created once, retried on failure). */
  ensureTopics(t: TargetContext): Promise<void> {
    if (this.o.options.ensureInternalTopics === false) return Promise.resolve();
    t.ensured ??= ensureProgressTopics(t.cluster, {
      clientId: this.o.clientId,
      logger: this.o.logger,
    }).then(
      () => {},
      (e: unknown) => {
        t.ensured = null;
        throw e;
      },
    );
    return t.ensured;
  }

  producer(t: TargetContext, flow: string): IdempotentProducer {
    // One producer per flow and target: units of different flows that write the same remote
    // partition (identity naming from two sources) keep separate sequences and failures.
    let p = t.producers.get(flow);
    if (p === undefined) {
      p = createIdempotentProducer(t.client, {
        deliveryTimeoutMs: this.o.ctx.deliveryTimeoutMs,
        maxInFlightPerPartition: this.o.options.maxInFlightPerPartition,
        maxRequestBytes: this.o.options.maxProduceRequestBytes,
      });
      t.producers.set(flow, p);
    }
    return p;
  }

  /** Fetches, checkpointers, producers, stores, then the clients created here. */
  async close(): Promise<void> {
    for (const s of this.sources.values()) {
      await s.reader.close();
      await s.fetcher.close();
    }
    for (const t of this.targets.values()) {
      await t.checkpointer.close();
      await Promise.all([...t.producers.values()].map((p) => p.close()));
      await t.tailFetcher?.close();
      await t.store.close();
    }
    const clients = new Set<KafkaWireClient>();
    for (const s of this.sources.values()) if (s.ownClient) clients.add(s.client);
    for (const t of this.targets.values()) if (t.ownClient) clients.add(t.client);
    await Promise.all([...clients].map((c) => c.close()));
  }
}
