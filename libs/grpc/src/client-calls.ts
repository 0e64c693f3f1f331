// The four kinds of call a GrpcClient makes on its channel: each with the client's and the call's
// metadata and a deadline, cancelled when the caller's signal aborts, and failing with a GeoError
// (the caller's abort reason when it was the caller who cancelled).
import type { DescMethod } from "@bufbuild/protobuf";
import {
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientWritableStream,
  Metadata,
  type ServiceError,
} from "@grpc/grpc-js";
import { onceOf } from "./abortable.js";
import { Code } from "./code.js";
import { GeoError } from "./geo-error.js";
import { deserializer, methodPath, serializer } from "./service-definition.js";

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

/** What a call is made with. */
export interface PreparedCall {
  metadata: Metadata;
  deadline: Date;
  signal: AbortSignal | undefined;
}

/** One client's channel, and how it prepares each call. */
export interface ClientChannel {
  readonly client: Client;
  prepare(callOptions?: CallOptions): PreparedCall;
}

/** The client's metadata with the call's added, and the call's deadline. */
export function prepareCall(
  clientMetadata: Readonly<Record<string, string>>,
  defaultTimeoutMs: number,
  callOptions: CallOptions,
): PreparedCall {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(clientMetadata)) metadata.set(key, value);
  if (callOptions.metadata instanceof Metadata) metadata.merge(callOptions.metadata);
  else {
    for (const [key, value] of Object.entries(callOptions.metadata ?? {})) metadata.set(key, value);
  }
  const timeoutMs = checkTimeout(callOptions.timeoutMs ?? defaultTimeoutMs, "timeoutMs");
  return { metadata, deadline: new Date(Date.now() + timeoutMs), signal: callOptions.signal };
}

export function checkTimeout(timeoutMs: number, what: string): number {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(
      `${what} must be a positive finite number of milliseconds, got ${timeoutMs}`,
    );
  }
  return timeoutMs;
}

/** The client-side function calling `method`, by its kind. */
export function methodCall(channel: ClientChannel, method: DescMethod) {
  switch (method.methodKind) {
    case "unary":
      return unary(channel, method);
    case "server_streaming":
      return serverStreaming(channel, method);
    case "client_streaming":
      return clientStreaming(channel, method);
    case "bidi_streaming":
      return bidiStreaming(channel, method);
  }
}

/** A method's path, request serializer and response deserializer, as grpc-js takes them. */
function codecOf(method: DescMethod) {
  return [methodPath(method), serializer(method.input), deserializer(method.output)] as const;
}

function unary({ client, prepare }: ClientChannel, method: DescMethod) {
  const codec = codecOf(method);
  return (request: unknown, callOptions?: CallOptions): Promise<unknown> => {
    const { metadata, deadline, signal } = prepare(callOptions);
    if (signal?.aborted) return Promise.reject(clientError(undefined, signal));
    return new Promise((resolve, reject) => {
      let forget = () => {};
      const call = client.makeUnaryRequest(
        ...codec,
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

function clientStreaming({ client, prepare }: ClientChannel, method: DescMethod) {
  const codec = codecOf(method);
  return (requests: AsyncIterable<unknown>, callOptions?: CallOptions): Promise<unknown> => {
    const { metadata, deadline, signal } = prepare(callOptions);
    if (signal?.aborted) return Promise.reject(clientError(undefined, signal));
    return new Promise((resolve, reject) => {
      let forget = () => {};
      const pump = idlePump();
      const call = client.makeClientStreamRequest(
        ...codec,
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

function serverStreaming({ client, prepare }: ClientChannel, method: DescMethod) {
  const codec = codecOf(method);
  return (request: unknown, callOptions?: CallOptions): AsyncIterable<unknown> => {
    // Lazy: the call starts (and its deadline runs) when iteration does, so an unread result
    // never holds a stream.
    return cancellable(async function* (holder) {
      const { metadata, deadline, signal } = prepare(callOptions);
      if (signal?.aborted) throw clientError(undefined, signal);
      const call: ClientReadableStream<unknown> = client.makeServerStreamRequest(
        ...codec,
        request,
        metadata,
        { deadline },
      );
      yield* responsesOf(call, signal, holder);
    });
  };
}

function bidiStreaming({ client, prepare }: ClientChannel, method: DescMethod) {
  const codec = codecOf(method);
  return (requests: AsyncIterable<unknown>, callOptions?: CallOptions): AsyncIterable<unknown> => {
    return cancellable(async function* (holder) {
      const { metadata, deadline, signal } = prepare(callOptions);
      if (signal?.aborted) throw clientError(undefined, signal);
      const call: ClientDuplexStream<unknown, unknown> = client.makeBidiStreamRequest(
        ...codec,
        metadata,
        { deadline },
      );
      yield* responsesOf(call, signal, holder, (pump) => pumpRequests(requests, call, pump));
    });
  };
}

type CancelHolder = { cancel?: () => void };

/**
 * The responses of a streaming call until it ends, cancelling it when the caller's signal aborts
 * or iteration stops; `pumpInto`, given, writes the requests meanwhile and its error wins.
 */
async function* responsesOf(
  call: ClientReadableStream<unknown> | ClientDuplexStream<unknown, unknown>,
  signal: AbortSignal | undefined,
  holder: CancelHolder,
  pumpInto?: (pump: Pump) => void,
): AsyncGenerator<unknown, void, undefined> {
  holder.cancel = () => call.cancel();
  const forget = cancelOnAbort(signal, () => call.cancel());
  const pump = idlePump();
  pumpInto?.(pump);
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

/**
 * The responses of a streaming call, single use like a generator, except that `return()` cancels
 * the call at once: a generator would queue it behind a pending `next()` until the deadline.
 */
function cancellable<T>(
  run: (holder: CancelHolder) => AsyncGenerator<T, void, undefined>,
): AsyncIterableIterator<T> {
  const holder: CancelHolder = {};
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

/** A pump not started: no error, nothing to stop. */
function idlePump(): Pump {
  return { error: undefined, stop: () => {} };
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
