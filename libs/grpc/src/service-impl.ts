import type { PeerCertificate } from "node:tls";
import type {
  DescMessage,
  DescMethod,
  DescService,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import type { Metadata } from "@grpc/grpc-js";
import type { Caller } from "./authorization.js";

/** What a handler knows about the call it serves. */
export interface HandlerContext {
  /** The service called. */
  readonly service: DescService;
  /** The method called. */
  readonly method: DescMethod;
  /** Request metadata (headers). */
  readonly metadata: Metadata;
  /** First string value of a request metadata key, e.g. `x-geo-actor`. */
  metadataValue(key: string): string | undefined;
  /** When the client gives up on the call; undefined when it set no deadline. */
  readonly deadline: Date | undefined;
  /** Milliseconds left before the deadline; undefined without deadline. */
  timeRemainingMs(): number | undefined;
  /**
   * Aborted when the call ends early: the client cancelled (reason: GeoError CANCELLED), the
   * deadline passed (DEADLINE_EXCEEDED) or the server is stopping (UNAVAILABLE). Pass it to
   * whatever the handler waits on.
   */
  readonly signal: AbortSignal;
  /** The client's address, `ipv4:127.0.0.1:51234`. */
  readonly peer: string;
  /** The client's verified certificate, over mutual TLS. */
  readonly peerCertificate?: PeerCertificate;
  /** Who the server's authorizer identified (undefined without authorization). */
  caller?: Caller;
}

/** Answers one request. */
export type UnaryImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: HandlerContext,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;

/** Answers one request with a stream, typically an async generator. */
export type ServerStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: HandlerContext,
) => AsyncIterable<MessageInitShape<O>>;

/** Answers a stream of requests once it ends. */
export type ClientStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  context: HandlerContext,
) => Promise<MessageInitShape<O>>;

/** Answers a stream of requests with a stream, typically an async generator. */
export type BidiStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  context: HandlerContext,
) => AsyncIterable<MessageInitShape<O>>;

/** The implementation shape of one method, by its kind. */
export type MethodImpl<M> = M extends {
  methodKind: infer K;
  input: infer I extends DescMessage;
  output: infer O extends DescMessage;
}
  ? K extends "unary"
    ? UnaryImpl<I, O>
    : K extends "server_streaming"
      ? ServerStreamingImpl<I, O>
      : K extends "client_streaming"
        ? ClientStreamingImpl<I, O>
        : K extends "bidi_streaming"
          ? BidiStreamingImpl<I, O>
          : never
  : never;

/**
 * The implementation of a generated service, keyed by method local name, like connect-es's
 * `ServiceImpl`. Servers accept a `Partial` of it: missing methods answer UNIMPLEMENTED.
 */
export type ServiceImpl<S extends DescService> = {
  [K in keyof S["method"]]: MethodImpl<S["method"][K]>;
};
