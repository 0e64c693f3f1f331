import { fixKafkajsRequestQueue } from "@geo/kafka";
import type { KafkaConfig } from "kafkajs";
import {
  ConnectionError,
  KafkaWireError,
  RequestTimeoutError,
  UnsupportedVersionError,
  WireClosedError,
} from "./kafka-wire-error";
import type { BrokerEndpoint, WireRequest, WireTransport } from "./wire-transport";

// The only file that reaches into kafkajs's internals. kafkajs exports no constructor
// for its Broker or connection pools, so these come from its `src/` tree, whose layout is
// not a public API: the package pins kafkajs 2.2.4 exactly and this module refuses any
// other version rather than misbehave. What is used, and relied on:
// - `src/cluster/connectionPoolBuilder`: connection pools from a KafkaConfig (TLS, SASL,
//   socket factory, seed broker rotation),
// - `src/broker`: `connect()` (ApiVersions, then SASL) and `versions`,
// - `Connection#send({ request, response, requestTimeout })`: frames the request header
//   around `request.encode()` and passes the response body to `response.decode()`, then
//   `response.parse()`,
// - `src/loggers`, `src/network/socketFactory`: the same logging and sockets as `new Kafka()`.
// Replacing kafkajs means writing another WireTransport; nothing else changes.

export const PINNED_KAFKAJS_VERSION = "2.2.4";

interface KjsConnection {
  send(protocol: {
    request: {
      apiKey: number;
      apiVersion: number;
      apiName: string;
      encode(): Promise<{ buf: Buffer; buffer: Buffer }>;
    };
    response: {
      decode(payload: Buffer): Promise<unknown>;
      parse(decoded: unknown): Promise<unknown>;
    };
    requestTimeout?: number | null;
    logResponseError?: boolean;
  }): Promise<unknown>;
}

interface KjsConnectionPool {
  host: string;
  port: number;
  rack: string | null;
  getConnection(index: number): Promise<KjsConnection>;
}

interface KjsBroker {
  connectionPool: KjsConnectionPool;
  versions: Record<number, { minVersion: number; maxVersion: number }> | null;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
}

type KjsBrokerCtor = new (opts: {
  connectionPool: KjsConnectionPool;
  logger: unknown;
  nodeId?: number | null;
  authenticationTimeout?: number;
  allowAutoTopicCreation?: boolean;
}) => KjsBroker;

interface KjsPoolBuilder {
  build(destination?: {
    host: string;
    port: number;
    rack: string | null;
  }): Promise<KjsConnectionPool>;
}

interface KjsInternals {
  Broker: KjsBrokerCtor;
  connectionPoolBuilder(opts: Record<string, unknown>): KjsPoolBuilder;
  createLogger(opts: { level: number; logCreator: unknown }): unknown;
  LoggerConsole: unknown;
  defaultSocketFactory(): unknown;
  INFO: number;
}

let internals: KjsInternals | undefined;

function loadInternals(): KjsInternals {
  if (internals !== undefined) return internals;
  const version = (require("kafkajs/package.json") as { version: string }).version;
  if (version !== PINNED_KAFKAJS_VERSION) {
    throw new UnsupportedVersionError(
      `@geo/kafka-wire uses kafkajs ${PINNED_KAFKAJS_VERSION} internals but kafkajs ${version} is installed; check kafkajs-transport.ts against it before changing the pin`,
    );
  }
  // Brokers made here have kafkajs request queues too: same fix as createKafkaClient's.
  fixKafkajsRequestQueue();
  const loggers = require("kafkajs/src/loggers") as {
    createLogger: KjsInternals["createLogger"];
    LEVELS: { INFO: number };
  };
  internals = {
    Broker: require("kafkajs/src/broker") as KjsBrokerCtor,
    connectionPoolBuilder: require("kafkajs/src/cluster/connectionPoolBuilder"),
    createLogger: loggers.createLogger,
    INFO: loggers.LEVELS.INFO,
    LoggerConsole: require("kafkajs/src/loggers/console"),
    defaultSocketFactory: require("kafkajs/src/network/socketFactory"),
  };
  return internals;
}

interface Node {
  endpoint: BrokerEndpoint;
  broker: Promise<KjsBroker>;
}

export interface KafkajsTransportOptions {
  /** Default client-side timeout of a request. Default: the config's requestTimeout or 30 s. */
  requestTimeoutMs?: number;
}

const FETCH_CONNECTION = 1; // kafkajs's ConnectionPool index for Fetch
const DEFAULT_CONNECTION = 0;

/**
 * A {@link WireTransport} over kafkajs's broker connections, configured exactly like
 * `new Kafka(config)` (use `kafkaClientOptions` from `@geo/kafka`).
 */
export function createKafkajsTransport(
  config: KafkaConfig,
  options: KafkajsTransportOptions = {},
): WireTransport {
  return new KafkajsTransport(config, options);
}

class KafkajsTransport implements WireTransport {
  private readonly kjs = loadInternals();
  private readonly logger: unknown;
  private readonly poolBuilder: KjsPoolBuilder;
  private readonly requestTimeoutMs: number;
  private readonly authenticationTimeout: number;
  private readonly seedCount: number;
  private seed: Promise<KjsBroker> | null = null;
  private readonly nodes = new Map<number, Node>();
  private readonly lanes = new Map<string, Promise<void>>();
  private readonly throttledUntil = new Map<string, number>();
  private closed = false;

  constructor(config: KafkaConfig, options: KafkajsTransportOptions) {
    const kjs = this.kjs;
    this.logger = kjs.createLogger({
      level: config.logLevel ?? kjs.INFO,
      logCreator: config.logCreator ?? kjs.LoggerConsole,
    });
    this.requestTimeoutMs = options.requestTimeoutMs ?? config.requestTimeout ?? 30_000;
    this.authenticationTimeout = config.authenticationTimeout ?? 10_000;
    this.seedCount = Array.isArray(config.brokers) ? Math.max(1, config.brokers.length) : 1;
    this.poolBuilder = kjs.connectionPoolBuilder({
      logger: this.logger,
      socketFactory: config.socketFactory ?? kjs.defaultSocketFactory(),
      brokers: config.brokers,
      ssl: config.ssl,
      sasl: config.sasl,
      clientId: config.clientId ?? "kafkajs",
      connectionTimeout: config.connectionTimeout ?? 1000,
      requestTimeout: config.requestTimeout ?? 30_000,
      enforceRequestTimeout: config.enforceRequestTimeout ?? true,
      // Unlimited: kafkajs would queue beyond the limit, and requests leaving that queue
      // after a throttle can overtake newer ones; this transport gates throttling itself.
      maxInFlightRequests: null,
      reauthenticationThreshold: config.reauthenticationThreshold,
    });
  }

  private newBroker(endpoint?: BrokerEndpoint): Promise<KjsBroker> {
    const pool = this.poolBuilder.build(
      endpoint === undefined
        ? undefined
        : { host: endpoint.host, port: endpoint.port, rack: endpoint.rack },
    );
    const promise = pool.then(
      (connectionPool) =>
        new this.kjs.Broker({
          connectionPool,
          logger: this.logger,
          nodeId: endpoint?.nodeId ?? null,
          authenticationTimeout: this.authenticationTimeout,
          allowAutoTopicCreation: false,
        }),
    );
    // A failed build (a `brokers` function that threw) surfaces on use, not as unhandled.
    promise.catch(() => {});
    return promise;
  }

  updateBrokers(brokers: readonly BrokerEndpoint[]): void {
    if (this.closed) return;
    const seen = new Set<number>();
    for (const ep of brokers) {
      seen.add(ep.nodeId);
      const old = this.nodes.get(ep.nodeId);
      if (
        old !== undefined &&
        old.endpoint.host === ep.host &&
        old.endpoint.port === ep.port &&
        old.endpoint.rack === ep.rack
      ) {
        continue;
      }
      if (old !== undefined) this.retire(old.broker);
      this.nodes.set(ep.nodeId, { endpoint: { ...ep }, broker: this.newBroker(ep) });
    }
    for (const [nodeId, node] of this.nodes) {
      if (!seen.has(nodeId)) {
        this.nodes.delete(nodeId);
        this.retire(node.broker);
      }
    }
  }

  private retire(broker: Promise<KjsBroker>): void {
    broker.then((b) => b.disconnect()).catch(() => {});
  }

  /** A connected broker: a known node if one is connected, else the known nodes and seeds in turn. */
  private async anyBroker(): Promise<KjsBroker> {
    const known: Promise<KjsBroker>[] = [];
    for (const node of this.nodes.values()) {
      const b = await node.broker.catch(() => null);
      if (b?.isConnected()) return b;
      known.push(node.broker);
    }
    let lastError: unknown;
    for (const candidate of known) {
      try {
        const b = await candidate;
        await b.connect();
        return b;
      } catch (e) {
        lastError = e;
      }
    }
    for (let i = 0; i < this.seedCount; i++) {
      this.seed ??= this.newBroker();
      const seed = this.seed;
      try {
        const b = await seed;
        await b.connect();
        return b;
      } catch (e) {
        lastError = e;
        if (this.seed === seed) this.seed = null; // the builder rotates to the next seed
        seed.then((b) => b.disconnect()).catch(() => {});
      }
    }
    throw mapError(lastError, "no broker reachable");
  }

  private async connectionFor(
    nodeId: number | null,
    lane: "fetch" | "default",
    key: string,
  ): Promise<{ broker: KjsBroker; connection: KjsConnection }> {
    const until = this.throttledUntil.get(key);
    if (until !== undefined) {
      const wait = until - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.throttledUntil.delete(key);
    }
    let broker: KjsBroker;
    if (nodeId === null) {
      broker = await this.anyBroker();
    } else {
      const node = this.nodes.get(nodeId);
      if (node === undefined) {
        throw new ConnectionError(`broker ${nodeId} is not in the latest metadata`, {
          broker: String(nodeId),
        });
      }
      broker = await node.broker;
      await broker.connect();
    }
    const connection = await broker.connectionPool.getConnection(
      lane === "fetch" ? FETCH_CONNECTION : DEFAULT_CONNECTION,
    );
    return { broker, connection };
  }

  async send<T>(nodeId: number | null, req: WireRequest<T>): Promise<T> {
    if (this.closed) throw new WireClosedError("kafka-wire transport");
    const lane = req.lane ?? "default";
    const key = `${nodeId ?? "any"}/${lane}`;
    // Requests of one node and lane are chained: request k+1 looks its connection up only
    // after request k has called Connection#send. kafkajs's send runs the same sequence of
    // awaits for every request on a connected connection, so they reach the socket in call
    // order: what the producer's pipelined sequence numbers need.
    const prev = this.lanes.get(key) ?? Promise.resolve();
    const ready = prev.then(() => this.connectionFor(nodeId, lane, key));
    const tail = ready.then(
      () => {},
      () => {},
    );
    this.lanes.set(key, tail);
    void tail.then(() => {
      if (this.lanes.get(key) === tail) this.lanes.delete(key);
    });

    let broker: KjsBroker;
    let connection: KjsConnection;
    try {
      ({ broker, connection } = await ready);
    } catch (e) {
      throw mapError(e, `cannot reach broker ${nodeId ?? "(any)"}`, nodeId);
    }
    const label = `${broker.connectionPool.host}:${broker.connectionPool.port}`;
    const range = broker.versions?.[req.apiKey];
    const version = range === undefined ? -1 : Math.min(range.maxVersion, req.maxVersion);
    if (range === undefined || version < req.minVersion || version < range.minVersion) {
      throw new UnsupportedVersionError(
        `broker supports ${req.apiName} ${range === undefined ? "not at all" : `v${range.minVersion}-v${range.maxVersion}`}, this client v${req.minVersion}-v${req.maxVersion}`,
        { broker: label },
      );
    }
    const timeoutMs = req.timeoutMs ?? this.requestTimeoutMs;
    const sent = connection.send({
      request: {
        apiKey: req.apiKey,
        apiVersion: version,
        apiName: req.apiName,
        encode: async () => {
          const body = req.encode(version);
          // kafkajs copies `buffer` after checking that `buf` is a Buffer (its Encoder's shape).
          return { buf: body, buffer: body };
        },
      },
      response: {
        decode: async (payload: Buffer) => {
          const value = req.decode(version, payload);
          const throttle = req.throttleTimeMs?.(value) ?? 0;
          if (throttle > 0) {
            this.throttledUntil.set(
              key,
              Math.max(this.throttledUntil.get(key) ?? 0, Date.now() + throttle),
            );
          }
          // Throttling is kept out of kafkajs's queue: requests it holds back can later
          // overtake newer ones, which would reorder a producer's sequence numbers.
          return { value, clientSideThrottleTime: 0 };
        },
        parse: async (decoded: unknown) => decoded,
      },
      // kafkajs only ever lengthens its own timeout with this; the race below shortens it.
      requestTimeout: timeoutMs,
      logResponseError: false,
    }) as Promise<{ value: T }>;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new RequestTimeoutError(`${req.apiName} got no response within ${timeoutMs} ms`, {
              broker: label,
            }),
          ),
        timeoutMs,
      );
    });
    try {
      const out = await Promise.race([sent, timeout]);
      return out.value;
    } catch (e) {
      throw mapError(e, `${req.apiName} failed`, nodeId, label);
    } finally {
      clearTimeout(timer);
      // The losing side of the race must not become an unhandled rejection.
      sent.catch(() => {});
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const brokers = [...this.nodes.values()].map((n) => n.broker);
    if (this.seed !== null) brokers.push(this.seed);
    this.nodes.clear();
    this.seed = null;
    await Promise.allSettled(brokers.map((b) => b.then((broker) => broker.disconnect())));
  }
}

function mapError(
  e: unknown,
  what: string,
  nodeId?: number | null,
  label?: string,
): KafkaWireError {
  if (e instanceof KafkaWireError) return e;
  const err = e as
    | { name?: string; message?: string; retriable?: boolean; type?: string }
    | undefined;
  const broker = label ?? (nodeId === null || nodeId === undefined ? undefined : String(nodeId));
  const message = `${what}: ${err?.message ?? String(e)}`;
  switch (err?.name) {
    case "KafkaJSConnectionError":
    case "KafkaJSConnectionClosedError":
    case "KafkaJSLockTimeout":
    case "KafkaJSTimeout":
      return new ConnectionError(message, { broker }, e);
    case "KafkaJSRequestTimeoutError":
      return new RequestTimeoutError(message, { broker }, e);
    case "KafkaJSSASLAuthenticationError":
      return new KafkaWireError("AUTHENTICATION_FAILED", message, {
        retriable: false,
        broker,
        cause: e,
      });
    default:
      return new KafkaWireError(err?.type ?? "UNKNOWN", message, {
        retriable: err?.retriable ?? false,
        broker,
        cause: e,
      });
  }
}
