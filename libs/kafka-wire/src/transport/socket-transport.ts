import type { ConnectionOptions } from "node:tls";
import type { KafkaConfig } from "kafkajs";
import { ConnectionError, KafkaWireError, WireClosedError } from "../kafka-wire-error";
import type { BrokerEndpoint, WireRequest, WireTransport } from "../wire-transport";
import { BrokerConnection, type BrokerConnectionOptions } from "./broker-connection";
import type { SaslCredentials, SaslMechanism } from "./sasl";

export interface SocketTransportOptions {
  /** Default client-side timeout of a request. Default: the config's requestTimeout or 30 s. */
  requestTimeoutMs?: number;
  /** Requests awaiting a response per connection; more wait in order. Default 32. */
  maxInFlightRequests?: number;
}

const MECHANISMS: readonly SaslMechanism[] = ["plain", "scram-sha-256", "scram-sha-512"];

type Lane = "fetch" | "default";

interface Node {
  endpoint: BrokerEndpoint;
  /** One connection per lane, so a long-polling Fetch never delays a Produce. */
  lanes: Record<Lane, BrokerConnection | null>;
}

/**
 * A {@link WireTransport} on Node's own sockets (`net`, `tls`), configured by the same
 * KafkaConfig kafkajs takes (`kafkaClientOptions` of `@geo/kafka`): `brokers`, `ssl`,
 * `sasl` (PLAIN, SCRAM-SHA-256/512), `clientId`, `connectionTimeout`, `requestTimeout`,
 * `authenticationTimeout`, `reauthenticationThreshold`.
 */
export function createSocketTransport(
  config: KafkaConfig,
  options: SocketTransportOptions = {},
): WireTransport {
  return new SocketTransport(config, options);
}

class SocketTransport implements WireTransport {
  private readonly connectionOptions: Omit<BrokerConnectionOptions, "host" | "port">;
  private readonly requestTimeoutMs: number;
  private readonly nodes = new Map<number, Node>();
  private seed: BrokerConnection | null = null;
  private seedIndex: number;
  private closed = false;

  constructor(
    private readonly config: KafkaConfig,
    options: SocketTransportOptions,
  ) {
    if (config.socketFactory !== undefined) {
      throw new TypeError("@geo/kafka-wire: a kafkajs socketFactory is not supported");
    }
    if (Array.isArray(config.brokers)) config.brokers.forEach(parseBroker);
    this.requestTimeoutMs = options.requestTimeoutMs ?? config.requestTimeout ?? 30_000;
    this.connectionOptions = {
      clientId: config.clientId ?? "kafka-wire",
      ssl: config.ssl === true ? {} : config.ssl ? (config.ssl as ConnectionOptions) : null,
      sasl: saslCredentials(config),
      connectionTimeoutMs: config.connectionTimeout ?? 1000,
      authenticationTimeoutMs: config.authenticationTimeout ?? 10_000,
      reauthenticationThresholdMs: config.reauthenticationThreshold ?? 10_000,
      maxInFlightRequests: options.maxInFlightRequests ?? 32,
    };
    // Start anywhere in the list, as kafkajs does, so clients spread over the seeds.
    this.seedIndex = Math.floor(Math.random() * 1024);
  }

  send<T>(nodeId: number | null, request: WireRequest<T>): Promise<T> {
    if (this.closed) return Promise.reject(new WireClosedError("kafka-wire transport"));
    if (nodeId === null) {
      return this.anyConnection().then((c) => c.request(request, this.requestTimeoutMs));
    }
    // Synchronous up to the connection's queue: requests of a node and lane are written in
    // the order `send` was called, which the producer's pipelined sequence numbers need.
    let connection: BrokerConnection;
    try {
      connection = this.connectionOf(nodeId, request.lane ?? "default");
    } catch (e) {
      return Promise.reject(e);
    }
    return connection.request(request, this.requestTimeoutMs);
  }

  updateBrokers(brokers: readonly BrokerEndpoint[]): void {
    if (this.closed) return;
    const seen = new Set<number>();
    for (const endpoint of brokers) {
      seen.add(endpoint.nodeId);
      const old = this.nodes.get(endpoint.nodeId);
      if (old !== undefined && sameEndpoint(old.endpoint, endpoint)) continue;
      if (old !== undefined) retire(old);
      this.nodes.set(endpoint.nodeId, {
        endpoint: { ...endpoint },
        lanes: { default: null, fetch: null },
      });
    }
    for (const [nodeId, node] of this.nodes) {
      if (!seen.has(nodeId)) {
        this.nodes.delete(nodeId);
        retire(node);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const connections: BrokerConnection[] = [];
    for (const node of this.nodes.values()) {
      for (const c of Object.values(node.lanes)) if (c !== null) connections.push(c);
    }
    if (this.seed !== null) connections.push(this.seed);
    this.nodes.clear();
    this.seed = null;
    await Promise.allSettled(connections.map((c) => c.close()));
  }

  private connectionOf(nodeId: number, lane: Lane): BrokerConnection {
    const node = this.nodes.get(nodeId);
    if (node === undefined) {
      throw new ConnectionError(`broker ${nodeId} is not in the latest metadata`, {
        broker: String(nodeId),
      });
    }
    let connection = node.lanes[lane];
    if (connection === null || connection.closed) {
      connection = this.connect(node.endpoint.host, node.endpoint.port);
      node.lanes[lane] = connection;
    }
    return connection;
  }

  private connect(host: string, port: number): BrokerConnection {
    return new BrokerConnection({ ...this.connectionOptions, host, port });
  }

  /** A connected broker: a known node's if one is connected, else the known nodes and seeds in turn. */
  private async anyConnection(): Promise<BrokerConnection> {
    for (const node of this.nodes.values()) {
      if (node.lanes.default?.isReady) return node.lanes.default;
    }
    if (this.seed?.isReady) return this.seed;
    let lastError: unknown;
    for (const nodeId of [...this.nodes.keys()]) {
      try {
        const connection = this.connectionOf(nodeId, "default");
        await connection.ready;
        return connection;
      } catch (e) {
        if (isFinal(e)) throw e;
        lastError = e;
      }
    }
    const seeds = await this.seedBrokers();
    for (let i = 0; i < seeds.length && !this.closed; i++) {
      if (this.seed === null || this.seed.closed) {
        const { host, port } = seeds[this.seedIndex++ % seeds.length]!;
        this.seed = this.connect(host, port);
      }
      const seed = this.seed;
      try {
        await seed.ready;
        return seed;
      } catch (e) {
        if (isFinal(e)) throw e;
        lastError = e;
        if (this.seed === seed) this.seed = null;
      }
    }
    if (this.closed) throw new WireClosedError("kafka-wire transport");
    throw lastError instanceof KafkaWireError
      ? lastError
      : new ConnectionError(`no broker reachable: ${String(lastError)}`);
  }

  private async seedBrokers(): Promise<{ host: string; port: number }[]> {
    const { brokers } = this.config;
    let list: string[];
    try {
      list = typeof brokers === "function" ? await brokers() : brokers;
    } catch (e) {
      throw new ConnectionError(`the brokers function failed: ${(e as Error).message}`, {}, e);
    }
    if (list.length === 0) throw new ConnectionError("the brokers function returned no broker");
    return list.map(parseBroker);
  }
}

/** `host:port`, or `[ipv6]:port`. */
function parseBroker(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address);
  const port = Number(match?.[2]);
  if (match === null || port < 1 || port > 65_535) {
    throw new TypeError(`@geo/kafka-wire: broker "${address}" is not host:port`);
  }
  return { host: match[1]!, port };
}

function saslCredentials(config: KafkaConfig): SaslCredentials | null {
  const sasl = config.sasl;
  if (sasl === undefined) return null;
  const mechanism = sasl.mechanism as SaslMechanism;
  if (!MECHANISMS.includes(mechanism)) {
    throw new TypeError(
      `@geo/kafka-wire: SASL mechanism "${sasl.mechanism}" is not supported (use ${MECHANISMS.join(", ")})`,
    );
  }
  const { username, password } = sasl as { username: string; password: string };
  return { mechanism, username, password };
}

/** An error another broker would repeat (a wrong password): no point trying the next. */
function isFinal(e: unknown): boolean {
  return e instanceof KafkaWireError && !e.retriable;
}

function sameEndpoint(a: BrokerEndpoint, b: BrokerEndpoint): boolean {
  return a.host === b.host && a.port === b.port && a.rack === b.rack;
}

/** A broker gone from the metadata, or moved: its unsent requests are retried elsewhere. */
function retire(node: Node): void {
  const { nodeId, host, port } = node.endpoint;
  const error = new ConnectionError(`broker ${nodeId} left the metadata or moved`, {
    broker: `${host}:${port}`,
  });
  for (const c of Object.values(node.lanes)) if (c !== null) void c.close(error);
}
