// A call as its handler sees it (HandlerContext): metadata, peer, deadline, and a signal that
// aborts when the client cancels, the deadline passes or the server stops the call. The server
// tracks every call being served, so that stop can end them.
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type {
  Metadata,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
} from "@grpc/grpc-js";
import { Code } from "./code.js";
import { GeoError } from "./geo-error.js";
import { enforceDeadline } from "./server-deadline.js";
import type { HandlerContext } from "./service-impl.js";

export type ServerCall =
  | ServerUnaryCall<unknown, unknown>
  | ServerReadableStream<unknown, unknown>
  | ServerWritableStream<unknown, unknown>
  | ServerDuplexStream<unknown, unknown>;

/** A call being served, as the server tracks it for shutdown. */
export interface ActiveCall {
  readonly streaming: boolean;
  abort(reason: GeoError): void;
}

/** What a call's context needs from its server. */
export interface CallTracking {
  /** Every call being served; a call is in it from its context's creation to its release. */
  readonly activeCalls: Set<ActiveCall>;
  readonly maxUnaryCallMs: number;
}

const deadlineSkewToleranceMs = 1000;

/** The call's context, and `release` to call once the call ended. */
export function createCallContext(
  server: CallTracking,
  call: ServerCall,
  service: DescService,
  method: DescMethod,
  streaming: boolean,
): { context: HandlerContext; release: () => void } {
  const controller = new AbortController();
  const deadline = deadlineOf(call);
  const active: ActiveCall = { streaming, abort: (reason) => controller.abort(reason) };
  server.activeCalls.add(active);
  const onCancelled = () => controller.abort(cancellation(method, deadline));
  const events = call as unknown as NodeJS.EventEmitter;
  events.once("cancelled", onCancelled);
  const context = handlerContext(call, service, method, deadline, controller.signal);
  const stopDeadline = enforceDeadline({
    controller,
    what: methodName(method),
    deadline,
    streaming,
    maxUnaryCallMs: server.maxUnaryCallMs,
  });
  const release = () => {
    server.activeCalls.delete(active);
    events.off("cancelled", onCancelled);
    stopDeadline();
  };
  return { context, release };
}

/** "service/Method", as messages and logs name a method. */
export function methodName(method: DescMethod): string {
  return `${method.parent.typeName}/${method.name}`;
}

function deadlineOf(call: ServerCall): Date | undefined {
  const rawDeadline = call.getDeadline();
  const deadlineMs = rawDeadline instanceof Date ? rawDeadline.getTime() : rawDeadline;
  return Number.isFinite(deadlineMs) ? new Date(deadlineMs) : undefined;
}

/** Why a call the client reset ended. */
function cancellation(method: DescMethod, deadline: Date | undefined): GeoError {
  // A client whose deadline passes resets the stream itself, usually before the server's
  // copy of the deadline (counted from when the headers arrived) expires: near the deadline,
  // a reset is the deadline.
  const expired =
    deadline !== undefined && Date.now() >= deadline.getTime() - deadlineSkewToleranceMs;
  return expired
    ? new GeoError(Code.DEADLINE_EXCEEDED, `deadline of ${methodName(method)} exceeded`)
    : new GeoError(Code.CANCELLED, `${methodName(method)} cancelled by the client`);
}

function handlerContext(
  call: ServerCall,
  service: DescService,
  method: DescMethod,
  deadline: Date | undefined,
  signal: AbortSignal,
): HandlerContext {
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
    signal,
    peer: call.getPeer(),
  };
  const certificate = call.getAuthContext?.()?.sslPeerCertificate;
  if (certificate !== undefined) {
    (context as { peerCertificate?: typeof certificate }).peerCertificate = certificate;
  }
  return context;
}
