/** A broker as the latest Metadata response describes it. */
export interface BrokerEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/**
 * One protocol request, encoded by this package. The transport picks the version
 * (the highest both sides support), frames it with the request header, and hands the
 * response body (after the correlation id) to `decode`.
 */
export interface WireRequest<T> {
  apiKey: number;
  apiName: string;
  minVersion: number;
  maxVersion: number;
  encode(version: number): Buffer;
  decode(version: number, payload: Buffer): T;
  /** The response's throttle_time_ms, honoured before the next request to that broker (KIP-219). */
  throttleTimeMs?(response: T): number;
  /** Client-side deadline for the response. Default: the transport's request timeout. */
  timeoutMs?: number;
  /**
   * `fetch` requests get a connection of their own, so a long-polling Fetch never delays
   * a Produce or Metadata request to the same broker (kafkajs does the same).
   */
  lane?: "fetch" | "default";
}

/**
 * How requests reach brokers: connections, TLS, SASL, API version negotiation.
 * The seam that keeps kafkajs's internals in one file (`kafkajs-transport.ts`) and lets
 * tests put a simulated broker behind the fetcher and producer.
 *
 * Ordering contract: requests sent to the same node and lane are written to the socket
 * in the order `send` was called. The idempotent producer relies on it to pipeline
 * several batches of a partition with consecutive sequence numbers.
 */
export interface WireTransport {
  /** Send to a node known from metadata, or to any reachable broker when `nodeId` is null. */
  send<T>(nodeId: number | null, request: WireRequest<T>): Promise<T>;
  /** The broker list of the latest Metadata response (new nodes connect lazily). */
  updateBrokers(brokers: readonly BrokerEndpoint[]): void;
  close(): Promise<void>;
}
