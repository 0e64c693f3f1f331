import type { Readable } from "node:stream";
import type { DescFile, DescMethod, DescService } from "@bufbuild/protobuf";
import { Health, protoFiles, ServerReflection, ServerReflectionV1alpha } from "@geo/proto";
import {
  type ChannelOptions,
  type Metadata,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { abortable, abortableIterable, onceOf } from "./abortable.js";
import { Code } from "./code.js";
import { GeoError, toGrpcStatus } from "./geo-error.js";
import { createHealthMonitor, type HealthMonitor, type HealthOptions } from "./health-monitor.js";
import { createHealthServiceImpl } from "./health-service.js";
import { type GrpcLogger, silentLogger } from "./logger.js";
import { enforceDeadline } from "./server-deadline.js";
import { createReflectionImpls } from "./server-reflection.js";
import { createServiceDefinition } from "./service-definition.js";
import type { HandlerContext, ServiceImpl } from "./service-impl.js";

/** Options of {@link createGrpcServer}. */
export interface GrpcServerOptions {
  /** Dependency probes and their timing for `grpc.health.v1.Health`. */
  health?: HealthOptions;
  /** Serve server reflection (v1 and v1alpha); default true. */
  reflection?: boolean;
  /** Files reflection describes; default every file of `@geo/proto` (`protoFiles()`). */
  descriptorFiles?: readonly DescFile[];
  /** Transport security; default insecure (plaintext HTTP/2). */
  credentials?: ServerCredentials;
  /** grpc-js server options, over keepalive defaults (ping every 30 s, 10 s to answer). */
  channelOptions?: ChannelOptions;
  /** pino-compatible logger; default silent. */
  logger?: GrpcLogger;
  /**
   * Largest request message accepted, in bytes (default 4 MiB); a larger one is refused with
   * RESOURCE_EXHAUSTED before it is decoded.
   */
  maxReceiveMessageBytes?: number;
  /**
   * Longest a unary or client-streaming call may run (default 300000): calls without a deadline
   * get this one, and a handler still busy at its deadline is answered DEADLINE_EXCEEDED at once
   * (its signal aborts), so a slow handler cannot hold a caller or a connection.
   */
  maxUnaryCallMs?: number;
  /**
   * Wraps every handler (authorization, auditing): called before the handler with the call's
   * context; throw a GeoError to refuse the call. Runs for health and reflection too.
   */
  beforeCall?: (context: HandlerContext, request?: unknown) => void | Promise<void>;
}

/** Default of {@link GrpcServerOptions.maxReceiveMessageBytes}. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Default of {@link GrpcServerOptions.maxUnaryCallMs}. */
export const DEFAULT_MAX_UNARY_CALL_MS = 300_000;

/** Options of {@link GrpcServer.stop}. */
export interface StopOptions {
  /** How long in-flight unary calls may take to finish before they are cut (default 5000). */
  graceMs?: number;
}

/** A gRPC server for generated protobuf-es services. */
export interface GrpcServer {
  /**
   * Serves `impl` for `service`. Methods left out answer UNIMPLEMENTED. The service becomes
   * known to health (by its full name) and to reflection's service list.
   */
  addService<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>): void;
  /** Binds `host:port` (port 0 picks a free one), starts health probes, returns the port. */
  listen(address: string): Promise<number>;
  /**
   * Stops accepting calls, marks every service NOT_SERVING, ends streaming calls at once with
   * UNAVAILABLE "server shutting down, reconnect" (their handlers' signals abort), waits up to
   * `graceMs` for unary calls, then cuts what remains. Calling it again returns the same promise.
   */
  stop(options?: StopOptions): Promise<void>;
  /** Serving status per service and overall. */
  readonly health: HealthMonitor;
  /** The port bound by the last `listen`, if any. */
  readonly port: number | undefined;
}

const serverChannelDefaults: ChannelOptions = {
  // Detects clients that vanished without closing (agent host lost), so their sessions end.
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
};

const deadlineSkewToleranceMs = 1000;

/** Why a call ended early, as its handler's signal reason. */
function shuttingDown(): GeoError {
  return new GeoError(Code.UNAVAILABLE, "server shutting down, reconnect", { retriable: true });
}

type ServerCall =
  | ServerUnaryCall<unknown, unknown>
  | ServerReadableStream<unknown, unknown>
  | ServerWritableStream<unknown, unknown>
  | ServerDuplexStream<unknown, unknown>;

/** A call being served, as the server tracks it for shutdown. */
interface ActiveCall {
  readonly streaming: boolean;
  abort(reason: GeoError): void;
}

/** Creates a server; add services, then `listen`. */
export function createGrpcServer(options: GrpcServerOptions = {}): GrpcServer {
  const logger = options.logger ?? silentLogger;
  const maxReceive = options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES;
  const maxUnaryCallMs = options.maxUnaryCallMs ?? DEFAULT_MAX_UNARY_CALL_MS;
  const server = new Server({
    ...serverChannelDefaults,
    "grpc.max_receive_message_length": maxReceive,
    ...options.channelOptions,
  });
  const monitor = createHealthMonitor(options.health ?? {}, logger);
  const serviceNames = new Set<string>();
  const activeCalls = new Set<ActiveCall>();
  let port: number | undefined;
  let stopping: Promise<void> | undefined;

  function createContext(
    call: ServerCall,
    service: DescService,
    method: DescMethod,
    streaming: boolean,
  ): { context: HandlerContext; release: () => void } {
    const controller = new AbortController();
    const rawDeadline = call.getDeadline();
    const deadlineMs = rawDeadline instanceof Date ? rawDeadline.getTime() : rawDeadline;
    const deadline = Number.isFinite(deadlineMs) ? new Date(deadlineMs) : undefined;
    const active: ActiveCall = { streaming, abort: (reason) => controller.abort(reason) };
    activeCalls.add(active);
    const onCancelled = () => {
      // A client whose deadline passes resets the stream itself, usually before the server's
      // copy of the deadline (counted from when the headers arrived) expires: near the deadline,
      // a reset is the deadline.
      const expired =
        deadline !== undefined && Date.now() >= deadline.getTime() - deadlineSkewToleranceMs;
      controller.abort(
        expired
          ? new GeoError(Code.DEADLINE_EXCEEDED, `deadline of ${methodName(method)} exceeded`)
          : new GeoError(Code.CANCELLED, `${methodName(method)} cancelled by the client`),
      );
    };
    const events = call as unknown as NodeJS.EventEmitter;
    events.once("cancelled", onCancelled);
    const metadata: Metadata = call.metadata;
    const context: HandlerContext = {
      service,
      method,
      metadata,
      metadataValue(key) {
        const value = metadata.get(key)[0];
        return typeof value === "string" ? value : undefined;
      },
      deadline,
      timeRemainingMs: () =>
        deadline === undefined ? undefined : Math.max(0, deadline.getTime() - Date.now()),
      signal: controller.signal,
      peer: call.getPeer(),
    };
    const certificate = call.getAuthContext?.()?.sslPeerCertificate;
    if (certificate !== undefined) {
      (context as { peerCertificate?: typeof certificate }).peerCertificate = certificate;
    }
    const stopDeadline = enforceDeadline({
      controller,
      what: methodName(method),
      deadline,
      streaming,
      maxUnaryCallMs,
    });
    const release = () => {
      activeCalls.delete(active);
      events.off("cancelled", onCancelled);
      stopDeadline();
    };
    return { context, release };
  }

  function failure(error: unknown, method: DescMethod): GeoError {
    const geoError = GeoError.from(error);
    if (geoError.code === Code.INTERNAL || geoError.code === Code.UNKNOWN) {
      logger.error(
        { err: geoError.cause ?? geoError, method: methodName(method) },
        "handler failed",
      );
    }
    return geoError;
  }

  function unaryHandler(
    service: DescService,
    method: DescMethod,
    run: (
      call: ServerUnaryCall<unknown, unknown> | ServerReadableStream<unknown, unknown>,
      context: HandlerContext,
    ) => Promise<unknown>,
  ): UntypedHandleCall {
    return (
      call: ServerUnaryCall<unknown, unknown> | ServerReadableStream<unknown, unknown>,
      callback: sendUnaryData<unknown>,
    ) => {
      const { context, release } = createContext(call, service, method, false);
      Promise.resolve()
        .then(() =>
          options.beforeCall?.(context, (call as ServerUnaryCall<unknown, unknown>).request),
        )
        .then(() =>
          abortable(
            Promise.resolve().then(() => run(call, context)),
            context.signal,
          ),
        )
        .then(
          (response) => {
            release();
            callback(null, response);
          },
          (error: unknown) => {
            release();
            const reason = context.signal.aborted ? context.signal.reason : error;
            callback(toGrpcStatus(failure(reason, method)));
          },
        );
    };
  }

  function streamingHandler(
    service: DescService,
    method: DescMethod,
    responses: (
      call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
      context: HandlerContext,
    ) => AsyncIterable<unknown>,
  ): UntypedHandleCall {
    return (
      call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
    ) => {
      const { context, release } = createContext(call, service, method, true);
      let iterator: AsyncIterator<unknown> | undefined;
      let finished = false;
      const finish = (error?: GeoError) => {
        if (finished) return;
        finished = true;
        release();
        if (call.cancelled) return;
        if (error === undefined) call.end();
        else call.emit("error", toGrpcStatus(error));
      };
      // Ends the call the moment the signal aborts (shutdown above all), not when the handler
      // next looks at it: a handler blocked on a quiet source must not hold the stream open.
      context.signal.addEventListener(
        "abort",
        () => {
          finish(GeoError.from(context.signal.reason));
          iterator?.return?.()?.catch(() => {});
        },
        { once: true },
      );
      (async () => {
        await options.beforeCall?.(context);
        iterator = responses(call, context)[Symbol.asyncIterator]();
        while (!finished) {
          const next = await abortable(iterator.next(), context.signal);
          if (next.done) break;
          if (finished) break;
          if (!call.write(next.value)) {
            await onceOf(call, ["drain", "close", "finish"], context.signal);
          }
        }
        finish();
      })().catch((error: unknown) => {
        if (context.signal.aborted) return;
        finish(failure(error, method));
      });
    };
  }

  async function* requestsOf(call: Readable, signal: AbortSignal): AsyncGenerator<unknown> {
    // destroyOnReturn: a handler that stops reading requests may still be writing responses.
    yield* abortableIterable(call.iterator({ destroyOnReturn: false }), signal);
    // When a client resets the stream, Node's http2 first ends the request side and reports the
    // reset (which grpc-js turns into "cancelled") one event-loop turn later, so a cancelled
    // upload would first look complete. Give the reset those turns before saying "complete".
    for (let turn = 0; turn < 3 && !signal.aborted; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (signal.aborted) throw signal.reason;
  }

  function unimplemented(method: DescMethod): () => never {
    return () => {
      throw new GeoError(
        Code.UNIMPLEMENTED,
        `${methodName(method)} is not implemented by this server yet; a later release provides it`,
      );
    };
  }

  function addService<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>): void {
    const handlers: UntypedServiceImplementation = {};
    const implementations = impl as Record<string, ((...args: never[]) => unknown) | undefined>;
    for (const method of service.methods) {
      const provided = implementations[method.localName];
      const fn = (typeof provided === "function" ? provided.bind(impl) : unimplemented(method)) as (
        input: unknown,
        context: HandlerContext,
      ) => unknown;
      switch (method.methodKind) {
        case "unary":
          handlers[method.localName] = unaryHandler(service, method, async (call, context) =>
            fn((call as ServerUnaryCall<unknown, unknown>).request, context),
          );
          break;
        case "client_streaming":
          handlers[method.localName] = unaryHandler(service, method, async (call, context) =>
            fn(requestsOf(call as Readable, context.signal), context),
          );
          break;
        case "server_streaming":
          handlers[method.localName] = streamingHandler(
            service,
            method,
            (call, context) =>
              fn(
                (call as ServerWritableStream<unknown, unknown>).request,
                context,
              ) as AsyncIterable<unknown>,
          );
          break;
        case "bidi_streaming":
          handlers[method.localName] = streamingHandler(
            service,
            method,
            (call, context) =>
              fn(
                requestsOf(call as ServerDuplexStream<unknown, unknown>, context.signal),
                context,
              ) as AsyncIterable<unknown>,
          );
          break;
      }
    }
    server.addService(createServiceDefinition(service), handlers);
    serviceNames.add(service.typeName);
    monitor.addService(service.typeName);
  }

  addService(Health, createHealthServiceImpl(monitor));
  if (options.reflection ?? true) {
    const reflection = createReflectionImpls(options.descriptorFiles ?? protoFiles(), () => [
      ...serviceNames,
    ]);
    addService(ServerReflection, reflection.v1);
    addService(ServerReflectionV1alpha, reflection.v1alpha);
  }

  return {
    addService,

    listen(address) {
      if (stopping !== undefined) return Promise.reject(new Error("server is stopped"));
      const credentials = options.credentials ?? ServerCredentials.createInsecure();
      return new Promise<number>((resolve, reject) => {
        server.bindAsync(address, credentials, (error, boundPort) => {
          if (error !== null) {
            reject(error);
            return;
          }
          port = boundPort;
          monitor.start();
          logger.info({ address, port: boundPort, services: [...serviceNames] }, "gRPC listening");
          resolve(boundPort);
        });
      });
    },

    stop(stopOptions = {}) {
      stopping ??= (async () => {
        const graceMs = stopOptions.graceMs ?? 5000;
        monitor.shutdown();
        const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        for (const call of activeCalls) if (call.streaming) call.abort(shuttingDown());
        let timer: NodeJS.Timeout | undefined;
        const graceOver = new Promise<"grace over">((resolve) => {
          timer = setTimeout(() => resolve("grace over"), graceMs);
        });
        const outcome = await Promise.race([drained, graceOver]);
        clearTimeout(timer);
        if (outcome === "grace over") {
          logger.warn({ calls: activeCalls.size, graceMs }, "grace over: cutting remaining calls");
          for (const call of activeCalls) call.abort(shuttingDown());
          server.forceShutdown();
        }
      })();
      return stopping;
    },

    health: monitor,

    get port() {
      return port;
    },
  };
}

function methodName(method: DescMethod): string {
  return `${method.parent.typeName}/${method.name}`;
}
