// grpc-js handlers for a protobuf-es service implementation: each call gets its context, passes
// beforeCall, runs the method (unary and client-streaming answered once, server- and
// bidi-streaming written as the handler yields), and ends with the handler's error as a rich
// status; methods left out answer UNIMPLEMENTED.
import type { Readable } from "node:stream";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type {
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  sendUnaryData,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { abortable, abortableIterable, onceOf } from "./abortable.js";
import { Code } from "./code.js";
import { GeoError, toGrpcStatus } from "./geo-error.js";
import type { GrpcLogger } from "./logger.js";
import {
  type CallTracking,
  createCallContext,
  methodName,
  type ServerCall,
} from "./server-call-context.js";
import type { HandlerContext, ServiceImpl } from "./service-impl.js";

/** What every handler shares with its server. */
export interface HandlerEnvironment extends CallTracking {
  readonly logger: GrpcLogger;
  /** See GrpcServerOptions.beforeCall. */
  readonly beforeCall?: (context: HandlerContext, request?: unknown) => void | Promise<void>;
}

type UnaryCall = ServerUnaryCall<unknown, unknown> | ServerReadableStream<unknown, unknown>;
type StreamingCall = ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>;
type Method = (input: unknown, context: HandlerContext) => unknown;

/** The grpc-js handlers of every method of `service`. */
export function serviceHandlers<S extends DescService>(
  env: HandlerEnvironment,
  service: S,
  impl: Partial<ServiceImpl<S>>,
): UntypedServiceImplementation {
  const handlers: UntypedServiceImplementation = {};
  const implementations = impl as Record<string, ((...args: never[]) => unknown) | undefined>;
  for (const method of service.methods) {
    const provided = implementations[method.localName];
    const fn = (
      typeof provided === "function" ? provided.bind(impl) : unimplemented(method)
    ) as Method;
    handlers[method.localName] = methodHandler(env, service, method, fn);
  }
  return handlers;
}

function methodHandler(
  env: HandlerEnvironment,
  service: DescService,
  method: DescMethod,
  fn: Method,
): UntypedHandleCall {
  const run = (call: ServerCall, context: HandlerContext) =>
    fn(inputOf(method, call, context.signal), context);
  // Unary and client-streaming calls are answered once, the others with a stream.
  return method.methodKind === "unary" || method.methodKind === "client_streaming"
    ? unaryHandler(env, service, method, async (call, context) => run(call, context))
    : streamingHandler(
        env,
        service,
        method,
        (call, context) => run(call, context) as AsyncIterable<unknown>,
      );
}

/** What the method's implementation is given: the request, or the stream of requests. */
function inputOf(method: DescMethod, call: ServerCall, signal: AbortSignal): unknown {
  return method.methodKind === "unary" || method.methodKind === "server_streaming"
    ? (call as ServerUnaryCall<unknown, unknown>).request
    : requestsOf(call as Readable, signal);
}

function unaryHandler(
  env: HandlerEnvironment,
  service: DescService,
  method: DescMethod,
  run: (call: UnaryCall, context: HandlerContext) => Promise<unknown>,
): UntypedHandleCall {
  return (call: UnaryCall, callback: sendUnaryData<unknown>) => {
    const { context, release } = createCallContext(env, call, service, method, false);
    Promise.resolve()
      .then(() => env.beforeCall?.(context, (call as ServerUnaryCall<unknown, unknown>).request))
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
          callback(toGrpcStatus(failure(env, reason, method)));
        },
      );
  };
}

function streamingHandler(
  env: HandlerEnvironment,
  service: DescService,
  method: DescMethod,
  responses: (call: StreamingCall, context: HandlerContext) => AsyncIterable<unknown>,
): UntypedHandleCall {
  return (call: StreamingCall) => {
    const { context, release } = createCallContext(env, call, service, method, true);
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
      await env.beforeCall?.(context);
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
      finish(failure(env, error, method));
    });
  };
}

/** The error as the client gets it; an unexpected one is logged. */
function failure(env: HandlerEnvironment, error: unknown, method: DescMethod): GeoError {
  const geoError = GeoError.from(error);
  if (geoError.code === Code.INTERNAL || geoError.code === Code.UNKNOWN) {
    env.logger.error(
      { err: geoError.cause ?? geoError, method: methodName(method) },
      "handler failed",
    );
  }
  return geoError;
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
