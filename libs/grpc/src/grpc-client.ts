// A typed client for a generated protobuf-es service on one grpc-js channel; client-calls makes
// its calls.
import type { DescMessage, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import {
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  credentials as grpcCredentials,
} from "@grpc/grpc-js";
import {
  type CallOptions,
  type ClientChannel,
  checkTimeout,
  methodCall,
  prepareCall,
} from "./client-calls.js";
import { Code } from "./code.js";
import { GeoError } from "./geo-error.js";

export type { CallOptions } from "./client-calls.js";

/** Options of {@link createGrpcClient}. */
export interface GrpcClientOptions {
  /** `host:port` of the server (any grpc-js target, e.g. `dns:coordinator:7000`). */
  address: string;
  /** Deadline of calls that do not set `timeoutMs` (default 10000). Every call has one. */
  defaultTimeoutMs?: number;
  /** Transport security; default insecure (plaintext HTTP/2). */
  credentials?: ChannelCredentials;
  /** grpc-js channel options, over keepalive defaults (ping every 30 s, also when idle). */
  channelOptions?: ChannelOptions;
  /** Metadata sent with every call, e.g. `{ "x-geo-actor": "cli:alice" }`. */
  metadata?: Readonly<Record<string, string>>;
}

/** The client-side signature of one method, by its kind. */
export type ClientMethod<M> = M extends {
  methodKind: infer K;
  input: infer I extends DescMessage;
  output: infer O extends DescMessage;
}
  ? K extends "unary"
    ? (request: MessageInitShape<I>, options?: CallOptions) => Promise<MessageShape<O>>
    : K extends "server_streaming"
      ? (request: MessageInitShape<I>, options?: CallOptions) => AsyncIterable<MessageShape<O>>
      : K extends "client_streaming"
        ? (
            requests: AsyncIterable<MessageInitShape<I>>,
            options?: CallOptions,
          ) => Promise<MessageShape<O>>
        : K extends "bidi_streaming"
          ? (
              requests: AsyncIterable<MessageInitShape<I>>,
              options?: CallOptions,
            ) => AsyncIterable<MessageShape<O>>
          : never
  : never;

/** Typed methods of a service, plus channel control. */
export type GrpcClient<S extends DescService> = {
  [K in keyof S["method"]]: ClientMethod<S["method"][K]>;
} & {
  /** Resolves once connected; UNAVAILABLE when not within `timeoutMs` (default: the client's). */
  waitForReady(timeoutMs?: number): Promise<void>;
  /** Closes the channel; calls in flight end with CANCELLED or UNAVAILABLE. */
  close(): void;
};

const clientChannelDefaults: ChannelOptions = {
  // Finds a dead connection (peer host gone, NAT dropped it) in ~40 s instead of TCP's minutes.
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.keepalive_permit_without_calls": 1,
};

const reservedNames = new Set(["waitForReady", "close"]);

/** Creates a typed client for `service` on one channel to `options.address`. */
export function createGrpcClient<S extends DescService>(
  service: S,
  options: GrpcClientOptions,
): GrpcClient<S> {
  const defaultTimeoutMs = checkTimeout(options.defaultTimeoutMs ?? 10_000, "defaultTimeoutMs");
  const client = new Client(
    options.address,
    options.credentials ?? grpcCredentials.createInsecure(),
    {
      ...clientChannelDefaults,
      ...options.channelOptions,
    },
  );
  const channel: ClientChannel = {
    client,
    prepare: (callOptions = {}) =>
      prepareCall(options.metadata ?? {}, defaultTimeoutMs, callOptions),
  };
  const methods: Record<string, unknown> = {};
  for (const method of service.methods) {
    if (reservedNames.has(method.localName)) {
      throw new Error(
        `${service.typeName}.${method.name} clashes with GrpcClient.${method.localName}`,
      );
    }
    methods[method.localName] = methodCall(channel, method);
  }
  methods.waitForReady = (timeoutMs?: number) =>
    new Promise<void>((resolve, reject) => {
      const wait = checkTimeout(timeoutMs ?? defaultTimeoutMs, "timeoutMs");
      client.waitForReady(new Date(Date.now() + wait), (error) => {
        if (error === undefined || error === null) resolve();
        else {
          reject(
            new GeoError(Code.UNAVAILABLE, `${options.address} not reachable within ${wait} ms`, {
              cause: error,
            }),
          );
        }
      });
    });
  methods.close = () => client.close();
  return methods as GrpcClient<S>;
}
