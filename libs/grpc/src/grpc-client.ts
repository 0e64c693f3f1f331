import type {
  DescMessage,
  DescMethod,
  DescService,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import {
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientWritableStream,
  credentials as grpcCredentials,
  Metadata,
  type ServiceError,
} from "@grpc/grpc-js";
import { onceOf } from "./abortable.js";
import { Code } from "./code.js";
import { GeoError } from "./geo-error.js";
import { deserializer, methodPath, serializer } from "./service-definition.js";

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

/** Per-call options. */
export interface CallOptions {
  /**
   * Deadline in milliseconds from now; default the client's `defaultTimeoutMs`. Long-lived
   * streams (sessions, watches) pass a long one and reconnect when it passes.
   */
  timeoutMs?: number;
  /** Cancels the call (CANCELLED) when aborted. */
  signal?: AbortSignal;
  /** Metadata for this call, added to the client's. */
  metadata?: Metadata | Readonly<Record<string, string>>;
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

function checkTimeout(timeoutMs: number, what: string): number {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(
      `${what} must be a positive finite number of milliseconds, got ${timeoutMs}`,
    );
  }
  return timeoutMs;
}

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

  interface Prepared {
    metadata: Metadata;
    deadline: Date;
    signal: AbortSignal | undefined;
  }

  function prepare(callOptions: CallOptions = {}): Prepared {
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(options.metadata ?? {})) metadata.set(key, value);
    if (callOptions.metadata instanceof Metadata) metadata.merge(callOptions.metadata);
    else {
      for (const [key, value] of Object.entries(callOptions.metadata ?? {}))
        metadata.set(key, value);
    }
    const timeoutMs = checkTimeout(callOptions.timeoutMs ?? defaultTimeoutMs, "timeoutMs");
    return { metadata, deadline: new Date(Date.now() + timeoutMs), signal: callOptions.signal };
  }

  // A call we cancelled because the caller's signal aborted reports that reason, not grpc-js's.
  function clientError(error: unknown, signal: AbortSignal | undefined): GeoError {
    if (signal?.aborted) {
      const reason = signal.reason;
      if (reason instanceof GeoError) return reason;
      const message = reason instanceof Error ? reason.message : "call cancelled by the caller";
      return new GeoError(Code.CANCELLED, message, { cause: reason });
    }
    return GeoError.from(error);
  }

  function cancelOnAbort(signal: AbortSignal | undefined, cancel: () => void): () => void {
    if (signal === undefined) return () => {};
    signal.addEventListener("abort", cancel, { once: true });
    return () => signal.removeEventListener("abort", cancel);
  }

  function unary(method: DescMethod) {
    const path = methodPath(method);
    const serialize = serializer(method.input);
    const deserialize = deserializer(method.output);
    return (request: unknown, callOptions?: CallOptions): Promise<unknown> => {
      const { metadata, deadline, signal } = prepare(callOptions);
      if (signal?.aborted) return Promise.reject(clientError(undefined, signal));
      return new Promise((resolve, reject) => {
        let forget = () => {};
        const call = client.makeUnaryRequest(
          path,
          serialize,
          deserialize,
          request,
          metadata,
          { deadline },
          (error: ServiceError | null, response?: unknown) => {
            forget();
            if (error) reject(clientError(error, signal));
            else resolve(response);
          },
        );
        forget = cancelOnAbort(signal, () => call.cancel());
      });
    };
  }

  function clientStreaming(method: DescMethod) {
    const path = methodPath(method);
    const serialize = serializer(method.input);
    const deserialize = deserializer(method.output);
    return (requests: AsyncIterable<unknown>, callOptions?: CallOptions): Promise<unknown> => {
      const { metadata, deadline, signal } = prepare(callOptions);
      if (signal?.aborted) return Promise.reject(clientError(undefined, signal));
      return new Promise((resolve, reject) => {
        let forget = () => {};
        const pump = { error: undefined as unknown, stop: () => {} };
        const call = client.makeClientStreamRequest(
          path,
          serialize,
          deserialize,
          metadata,
          { deadline },
          (error: ServiceError | null, response?: unknown) => {
            forget();
            pump.stop();
            if (pump.error !== undefined) reject(GeoError.from(pump.error));
            else if (error) reject(clientError(error, signal));
            else resolve(response);
          },
        );
        forget = cancelOnAbort(signal, () => call.cancel());
        pumpRequests(requests, call, pump);
      });
    };
  }

  function serverStreaming(method: DescMethod) {
    const path = methodPath(method);
    const serialize = serializer(method.input);
    const deserialize = deserializer(method.output);
    return (request: unknown, callOptions?: CallOptions): AsyncIterable<unknown> => {
      // Lazy: the call starts (and its deadline runs) when iteration does, so an unread result
      // never holds a stream.
      return cancellable(async function* (holder) {
        const { metadata, deadline, signal } = prepare(callOptions);
        if (signal?.aborted) throw clientError(undefined, signal);
        const call: ClientReadableStream<unknown> = client.makeServerStreamRequest(
          path,
          serialize,
          deserialize,
          request,
          metadata,
          { deadline },
        );
        holder.cancel = () => call.cancel();
        const forget = cancelOnAbort(signal, () => call.cancel());
        try {
          for await (const response of call) yield response;
        } catch (error) {
          throw clientError(error, signal);
        } finally {
          forget();
          call.cancel();
        }
      });
    };
  }

  function bidiStreaming(method: DescMethod) {
    const path = methodPath(method);
    const serialize = serializer(method.input);
    const deserialize = deserializer(method.output);
    return (
      requests: AsyncIterable<unknown>,
      callOptions?: CallOptions,
    ): AsyncIterable<unknown> => {
      return cancellable(async function* (holder) {
        const { metadata, deadline, signal } = prepare(callOptions);
        if (signal?.aborted) throw clientError(undefined, signal);
        const call: ClientDuplexStream<unknown, unknown> = client.makeBidiStreamRequest(
          path,
          serialize,
          deserialize,
          metadata,
          { deadline },
        );
        holder.cancel = () => call.cancel();
        const forget = cancelOnAbort(signal, () => call.cancel());
        const pump = { error: undefined as unknown, stop: () => {} };
        pumpRequests(requests, call, pump);
        try {
          for await (const response of call) yield response;
        } catch (error) {
          if (pump.error !== undefined) throw GeoError.from(pump.error);
          throw clientError(error, signal);
        } finally {
          forget();
          pump.stop();
          call.cancel();
        }
        if (pump.error !== undefined) throw GeoError.from(pump.error);
      });
    };
  }

  const methods: Record<string, unknown> = {};
  for (const method of service.methods) {
    if (reservedNames.has(method.localName)) {
      throw new Error(
        `${service.typeName}.${method.name} clashes with GrpcClient.${method.localName}`,
      );
    }
    switch (method.methodKind) {
      case "unary":
        methods[method.localName] = unary(method);
        break;
      case "server_streaming":
        methods[method.localName] = serverStreaming(method);
        break;
      case "client_streaming":
        methods[method.localName] = clientStreaming(method);
        break;
      case "bidi_streaming":
        methods[method.localName] = bidiStreaming(method);
        break;
    }
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

/**
 * The responses of a streaming call, single use like a generator, except that `return()` cancels
 * the call at once: a generator would queue it behind a pending `next()` until the deadline.
 */
function cancellable<T>(
  run: (holder: { cancel?: () => void }) => AsyncGenerator<T, void, undefined>,
): AsyncIterableIterator<T> {
  const holder: { cancel?: () => void } = {};
  const inner = run(holder);
  return {
    next: () => inner.next(),
    return: (value?: unknown) => {
      holder.cancel?.();
      return inner.return(value as undefined);
    },
    throw: (error?: unknown) => {
      holder.cancel?.();
      return inner.throw(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

interface Pump {
  error: unknown;
  stop: () => void;
}

/**
 * Writes `requests` into the call with backpressure, half-closes when they end, and cancels the
 * call when they throw (the error is kept in `pump.error` for the caller).
 */
function pumpRequests(
  requests: AsyncIterable<unknown>,
  call: ClientWritableStream<unknown> | ClientDuplexStream<unknown, unknown>,
  pump: Pump,
): void {
  const stopController = new AbortController();
  const iterator = requests[Symbol.asyncIterator]();
  pump.stop = () => {
    if (stopController.signal.aborted) return;
    stopController.abort();
    iterator.return?.()?.catch(() => {});
  };
  (async () => {
    while (!stopController.signal.aborted) {
      const next = await iterator.next();
      if (next.done || stopController.signal.aborted) break;
      if (!call.write(next.value)) {
        await onceOf(call, ["drain", "close", "finish", "error"], stopController.signal);
      }
    }
    if (!stopController.signal.aborted) call.end();
  })().catch((error: unknown) => {
    if (stopController.signal.aborted) return;
    pump.error = error;
    call.cancel();
  });
}
