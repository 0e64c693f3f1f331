import * as net from "node:net";
import * as tls from "node:tls";
import { kafkaErrorName } from "../kafka-error-codes";
import {
  ConnectionError,
  KafkaWireError,
  MalformedResponseError,
  RequestTimeoutError,
  UnsupportedVersionError,
  WireClosedError,
} from "../kafka-wire-error";
import { WireReader } from "../wire-reader";
import type { WireRequest } from "../wire-transport";
import { Call } from "./call";
import { FrameReader } from "./frame-reader";
import type { SaslCredentials } from "./sasl";
import { authenticate } from "./sasl-authenticate";

export interface BrokerConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  /** TLS options (`tls.connect`), or null for PLAINTEXT. */
  ssl: tls.ConnectionOptions | null;
  sasl: SaslCredentials | null;
  connectionTimeoutMs: number;
  /** Deadline of each SASL request. */
  authenticationTimeoutMs: number;
  /** Re-authenticate this long before the broker's session lifetime ends (KIP-368). */
  reauthenticationThresholdMs: number;
  /** Requests written and not yet answered; later ones wait, in order. */
  maxInFlightRequests: number;
}

const API_VERSIONS_KEY = 18;
const API_VERSIONS_VERSION = 2; // non-flexible, every broker since Kafka 2.0
const KEEP_ALIVE_DELAY_MS = 60_000; // as kafkajs's socket factory
const CLOSE_DRAIN_MS = 5000;

type State = "connecting" | "ready" | "authenticating" | "closing" | "closed";

/**
 * One TCP (or TLS) connection to a broker: ApiVersions and SASL on connect, then requests
 * written in call order, up to `maxInFlightRequests` awaiting responses, matched back by
 * correlation id. Kafka answers a connection's requests in order, one at a time.
 */
export class BrokerConnection {
  readonly label: string;
  readonly ready: Promise<void>;
  private state: State = "connecting";
  private socket: net.Socket | null = null;
  private readonly clientId: Buffer;
  private readonly versions = new Map<number, { min: number; max: number }>();
  private readonly queue: Call[] = [];
  private readonly inFlight = new Map<number, Call>();
  private readonly frames: FrameReader;
  private nextCorrelationId = 0;
  private throttledUntil = 0;
  private throttleTimer: NodeJS.Timeout | null = null;
  private reauthenticateAt = Number.POSITIVE_INFINITY;
  private closeError: KafkaWireError | null = null;
  private onDrained: (() => void) | null = null;

  constructor(private readonly options: BrokerConnectionOptions) {
    this.label = `${options.host}:${options.port}`;
    this.clientId = Buffer.from(options.clientId, "utf8");
    this.frames = new FrameReader(
      (frame) => this.onFrame(frame),
      (e) => this.destroy(new MalformedResponseError(`${e.message} from ${this.label}`)),
    );
    this.ready = this.open();
    this.ready.catch(() => {}); // surfaces through the requests that wait for it
  }

  /** Closed or failed: the transport opens a new connection for the next request. */
  get closed(): boolean {
    return this.state === "closing" || this.state === "closed";
  }

  get isReady(): boolean {
    return this.state === "ready";
  }

  /** Queues a request; it is written after every earlier one on this connection. */
  request<T>(request: WireRequest<T>, defaultTimeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call = new Call(
        request as WireRequest<unknown>,
        resolve as (v: unknown) => void,
        reject,
      );
      if (this.closed) {
        call.fail(this.closeError ?? new WireClosedError(`connection to ${this.label}`));
        return;
      }
      this.arm(call, request.timeoutMs ?? defaultTimeoutMs);
      this.queue.push(call);
      this.pump();
    });
  }

  /**
   * Fails what was not written yet with `error`, waits (bounded) for the answers in flight,
   * then closes.
   */
  async close(
    error: KafkaWireError = new WireClosedError(`connection to ${this.label}`),
  ): Promise<void> {
    if (this.closed) return;
    this.state = "closing";
    for (const call of this.queue.splice(0)) call.fail(error);
    if (this.inFlight.size > 0) {
      await new Promise<void>((resolve) => {
        this.onDrained = resolve;
        setTimeout(resolve, CLOSE_DRAIN_MS).unref();
      });
    }
    this.destroy(error);
  }

  private arm(call: Call, timeoutMs: number): void {
    call.timer = setTimeout(() => {
      const queued = this.queue.indexOf(call);
      if (queued >= 0) this.queue.splice(queued, 1);
      // An answer still on its way is dropped on arrival (its correlation id is unknown).
      else this.inFlight.delete(call.correlationId);
      call.fail(
        new RequestTimeoutError(`${call.request.apiName} got no response within ${timeoutMs} ms`, {
          broker: this.label,
        }),
      );
      this.pump();
      this.checkDrained();
    }, timeoutMs);
  }

  private async open(): Promise<void> {
    try {
      await this.connectSocket();
      await this.negotiateVersions();
      if (this.options.sasl !== null) await this.authenticate(this.options.sasl);
    } catch (e) {
      const error = asWireError(e, this.label);
      this.destroy(error);
      throw error;
    }
    if (this.state !== "connecting") throw this.closeError ?? new WireClosedError(this.label);
    this.state = "ready";
    this.pump();
  }

  private connectSocket(): Promise<void> {
    const { host, port, ssl, connectionTimeoutMs } = this.options;
    return new Promise<void>((resolve, reject) => {
      const socket =
        ssl === null
          ? net.connect({ host, port })
          : tls.connect({
              host,
              port,
              ...(net.isIP(host) === 0 ? { servername: host } : {}),
              ...ssl,
            });
      this.socket = socket;
      socket.setNoDelay(true);
      socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
      const timer = setTimeout(() => {
        const error = new ConnectionError(`no connection within ${connectionTimeoutMs} ms`, {
          broker: this.label,
        });
        reject(error);
        this.destroy(error);
      }, connectionTimeoutMs);
      socket.once(ssl === null ? "connect" : "secureConnect", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.on("data", (chunk: Buffer) => this.frames.push(chunk));
      socket.on("error", (e) => {
        clearTimeout(timer);
        const error = new ConnectionError(
          `connection failed: ${e.message}`,
          { broker: this.label },
          e,
        );
        reject(error);
        this.destroy(error);
      });
      socket.on("close", () => {
        clearTimeout(timer);
        const error = new ConnectionError("connection closed", { broker: this.label });
        reject(error);
        this.destroy(error);
      });
    });
  }

  private async negotiateVersions(): Promise<void> {
    const payload = await this.direct(
      API_VERSIONS_KEY,
      "ApiVersions",
      API_VERSIONS_VERSION,
      Buffer.alloc(0),
      this.options.connectionTimeoutMs + this.options.authenticationTimeoutMs,
    );
    const r = new WireReader(payload, "ApiVersions response");
    const errorCode = r.int16();
    if (errorCode !== 0) {
      throw new UnsupportedVersionError(
        `ApiVersions v${API_VERSIONS_VERSION} refused with ${kafkaErrorName(errorCode)}: this client needs Kafka 2.3 or later`,
        { broker: this.label },
      );
    }
    r.array((x) => {
      const apiKey = x.int16();
      const min = x.int16();
      const max = x.int16();
      this.versions.set(apiKey, { min, max });
    });
  }

  private async authenticate(sasl: SaslCredentials): Promise<void> {
    const sessionLifetimeMs = await authenticate(sasl, {
      broker: this.label,
      versionIn: (apiKey, min, max) => this.versionIn(apiKey, min, max),
      send: (apiKey, apiName, version, body) =>
        this.direct(apiKey, apiName, version, body, this.options.authenticationTimeoutMs),
    });
    const threshold = Math.min(this.options.reauthenticationThresholdMs, sessionLifetimeMs * 0.2);
    this.reauthenticateAt =
      sessionLifetimeMs > 0 ? Date.now() + sessionLifetimeMs - threshold : Number.POSITIVE_INFINITY;
  }

  /** A broker session about to expire: re-authenticate once nothing is in flight (KIP-368). */
  private async reauthenticate(sasl: SaslCredentials): Promise<void> {
    this.state = "authenticating";
    try {
      await this.authenticate(sasl);
    } catch (e) {
      this.destroy(asWireError(e, this.label));
      return;
    }
    if (this.state !== "authenticating") return;
    this.state = "ready";
    this.pump();
  }

  private versionIn(apiKey: number, min: number, max: number): number | null {
    const range = this.versions.get(apiKey);
    if (range === undefined) return null;
    const version = Math.min(range.max, max);
    return version < min || version < range.min ? null : version;
  }

  /** A handshake request, written at once: nothing else is written meanwhile. */
  private direct(
    apiKey: number,
    apiName: string,
    version: number,
    body: Buffer,
    timeoutMs: number,
  ) {
    return new Promise<Buffer>((resolve, reject) => {
      const request: WireRequest<Buffer> = {
        apiKey,
        apiName,
        minVersion: version,
        maxVersion: version,
        encode: () => body,
        decode: (_, payload) => payload,
      };
      const call = new Call(request, resolve as (v: unknown) => void, reject);
      if (this.closed) {
        call.fail(this.closeError ?? new WireClosedError(`connection to ${this.label}`));
        return;
      }
      this.arm(call, timeoutMs);
      this.write(call, version);
    });
  }

  private pump(): void {
    if (this.state !== "ready") return;
    if (this.throttledUntil > 0) {
      const wait = this.throttledUntil - Date.now();
      if (wait > 0) {
        this.throttleTimer ??= setTimeout(() => {
          this.throttleTimer = null;
          this.pump();
        }, wait);
        return;
      }
      this.throttledUntil = 0;
    }
    const sasl = this.options.sasl;
    if (sasl !== null && this.queue.length > 0 && Date.now() >= this.reauthenticateAt) {
      if (this.inFlight.size === 0) void this.reauthenticate(sasl);
      return;
    }
    while (this.queue.length > 0 && this.inFlight.size < this.options.maxInFlightRequests) {
      const call = this.queue.shift()!;
      const { apiKey, apiName, minVersion, maxVersion } = call.request;
      const version = this.versionIn(apiKey, minVersion, maxVersion);
      if (version === null) {
        const range = this.versions.get(apiKey);
        call.fail(
          new UnsupportedVersionError(
            `broker supports ${apiName} ${range === undefined ? "not at all" : `v${range.min}-v${range.max}`}, this client v${minVersion}-v${maxVersion}`,
            { broker: this.label },
          ),
        );
        continue;
      }
      this.write(call, version);
    }
  }

  private write(call: Call, version: number): void {
    let body: Buffer;
    try {
      body = call.request.encode(version);
    } catch (e) {
      call.fail(asWireError(e, this.label));
      return;
    }
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (correlationId + 1) & 0x7fffffff;
    call.version = version;
    call.correlationId = correlationId;
    // Request header v1: api key, version, correlation id, client id; after the frame size.
    const header = Buffer.allocUnsafe(14 + this.clientId.length);
    header.writeInt32BE(header.length - 4 + body.length, 0);
    header.writeInt16BE(call.request.apiKey, 4);
    header.writeInt16BE(version, 6);
    header.writeInt32BE(correlationId, 8);
    header.writeInt16BE(this.clientId.length, 12);
    this.clientId.copy(header, 14);
    this.inFlight.set(correlationId, call);
    const socket = this.socket!;
    // Two writes, one syscall: the body (megabytes of batches for a Produce) is not copied.
    socket.cork();
    socket.write(header);
    socket.write(body);
    socket.uncork();
  }

  private onFrame(frame: Buffer): void {
    if (this.state === "closed") return;
    if (frame.length < 4) {
      this.destroy(
        new MalformedResponseError(`a ${frame.length}-byte response from ${this.label}`),
      );
      return;
    }
    const call = this.inFlight.get(frame.readInt32BE(0));
    if (call !== undefined) {
      this.inFlight.delete(call.correlationId);
      this.complete(call, frame.subarray(4));
    }
    this.pump();
    this.checkDrained();
  }

  private complete(call: Call, payload: Buffer): void {
    const { request } = call;
    let value: unknown;
    try {
      value = request.decode(call.version, payload);
    } catch (e) {
      call.fail(
        e instanceof KafkaWireError
          ? e
          : new MalformedResponseError(
              `${request.apiName} v${call.version} response: ${(e as Error).message}`,
            ),
      );
      return;
    }
    const throttleMs = request.throttleTimeMs?.(value) ?? 0;
    // KIP-219: the broker answered at once and expects no request before throttle_time_ms.
    if (throttleMs > 0)
      this.throttledUntil = Math.max(this.throttledUntil, Date.now() + throttleMs);
    call.resolve(value);
  }

  private checkDrained(): void {
    if (this.inFlight.size === 0 && this.onDrained !== null) {
      const drained = this.onDrained;
      this.onDrained = null;
      drained();
    }
  }

  private destroy(error: KafkaWireError): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.closeError = error;
    if (this.throttleTimer !== null) clearTimeout(this.throttleTimer);
    for (const call of this.queue.splice(0)) call.fail(error);
    for (const call of this.inFlight.values()) call.fail(error);
    this.inFlight.clear();
    this.checkDrained();
    this.socket?.destroy();
  }
}

function asWireError(e: unknown, broker: string): KafkaWireError {
  if (e instanceof KafkaWireError) return e;
  return new ConnectionError(String((e as Error)?.message ?? e), { broker }, e);
}
