// A standby has neither the agents' sessions nor the assignment, so it forwards the status reads
// (ListAgents, ListUnits, GetUnit, GetAssignment; ListFlows and GetFlow for their status, and
// ListFlowChanges, so that a change made through any coordinator reads back at once) to the
// leader and relays its answer, whatever coordinator an operator's client reached. When the
// leader cannot be reached the standby answers from what it knows itself (units without owner,
// reason given). A forwarded call carries `x-geo-forwarded-by`, and is never forwarded again.
import type { MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  createGrpcClient,
  GeoError,
  type GrpcClient,
  type GrpcClientOptions,
  type HandlerContext,
} from "@geo/grpc";
import type { Logger } from "@geo/logging";
import { CoordinatorService } from "@geo/proto";
import type { Leadership } from "./leadership";

export const FORWARDED_BY = "x-geo-forwarded-by";

type ReadMethod =
  | "listAgents"
  | "listUnits"
  | "getUnit"
  | "getAssignment"
  | "listFlows"
  | "getFlow"
  | "listFlowChanges";
type WriteMethod = "createFlow" | "updateFlow" | "deleteFlow" | "pauseFlow" | "resumeFlow";
type Method = ReadMethod | WriteMethod;
type Service = typeof CoordinatorService;
type RequestOf<M extends Method> = MessageShape<Service["method"][M]["input"]>;
type ResponseOf<M extends Method> = MessageShape<Service["method"][M]["output"]>;

export interface LeaderForwarder {
  /** The leader's answer, or undefined when this coordinator should answer itself. */
  forward<M extends ReadMethod>(
    method: M,
    request: RequestOf<M>,
    context: HandlerContext,
  ): Promise<ResponseOf<M> | undefined>;
  /**
   * A change only the leader makes: its answer or error as they are, undefined when this
   * coordinator leads, UNAVAILABLE (retriable) when no leader can be reached.
   */
  forwardWrite<M extends WriteMethod>(
    method: M,
    request: RequestOf<M>,
    context: HandlerContext,
  ): Promise<ResponseOf<M> | undefined>;
  close(): void;
}

export interface LeaderForwarderOptions {
  leadership: Pick<Leadership, "id" | "isLeader" | "leader">;
  logger: Logger;
  timeoutMs?: number;
  /** Client options per address (TLS, token); default plaintext. */
  clientOptions?: (address: string) => GrpcClientOptions;
}

export function createLeaderForwarder(options: LeaderForwarderOptions): LeaderForwarder {
  const link = createLeaderLink(options);
  return {
    forward: (method, request, context) => forwardRead(link, method, request, context),
    forwardWrite: (method, request, context) => forwardWrite(link, method, request, context),
    close: () => link.close(),
  };
}

/** Calls to the leader coordinator, over one client per address. */
interface LeaderLink {
  readonly leadership: LeaderForwarderOptions["leadership"];
  readonly logger: Logger;
  /** Deadline of a forwarded read. */
  readonly timeoutMs: number;
  /** The leader's address; undefined when this coordinator leads or none does. */
  leaderAddress(): Promise<string | undefined>;
  /** Calls `method` at `address`, marked forwarded, within the caller's deadline and `capMs`. */
  call<M extends Method>(
    method: M,
    address: string,
    request: RequestOf<M>,
    context: HandlerContext,
    capMs: number,
  ): Promise<ResponseOf<M>>;
  close(): void;
}

function createLeaderLink(options: LeaderForwarderOptions): LeaderLink {
  const { leadership, logger } = options;
  const timeoutMs = options.timeoutMs ?? 5000;
  const clients = new Map<string, GrpcClient<Service>>();
  const clientFor = (address: string) => {
    let client = clients.get(address);
    if (client === undefined) {
      client = createGrpcClient(CoordinatorService, {
        ...(options.clientOptions?.(address) ?? { address }),
        defaultTimeoutMs: timeoutMs,
      });
      clients.set(address, client);
    }
    return client;
  };
  return {
    leadership,
    logger,
    timeoutMs,
    async leaderAddress() {
      const leader = await leadership.leader();
      return leader === undefined || leader.id === leadership.id ? undefined : leader.address;
    },
    call(method, address, request, context, capMs) {
      const remaining = context.timeRemainingMs();
      const invoke = clientFor(address)[method] as unknown as (
        request: RequestOf<typeof method>,
        options: object,
      ) => Promise<ResponseOf<typeof method>>;
      return invoke(request, {
        timeoutMs: Math.max(1, Math.min(capMs, (remaining ?? capMs) - 100)),
        signal: context.signal,
        metadata: { [FORWARDED_BY]: leadership.id },
      });
    },
    close() {
      for (const client of clients.values()) client.close();
      clients.clear();
    },
  };
}

/** Forwards a call of one of the methods `K` over the link; undefined when it is not forwarded. */
type Forwarding<K extends Method> = <M extends K>(
  link: LeaderLink,
  method: M,
  request: RequestOf<M>,
  context: HandlerContext,
) => Promise<ResponseOf<M> | undefined>;

/** A read the leader answers; undefined (answer it here) when this leads or the leader is away. */
const forwardRead: Forwarding<ReadMethod> = async (link, method, request, context) => {
  if (link.leadership.isLeader() || context.metadataValue(FORWARDED_BY) !== undefined) {
    return undefined;
  }
  let address: string | undefined;
  try {
    address = await link.leaderAddress();
  } catch {
    return undefined;
  }
  if (address === undefined) return undefined;
  try {
    return await link.call(method, address, request, context, link.timeoutMs);
  } catch (error) {
    const geo = GeoError.from(error);
    // The leader's own answer (bad argument, unknown unit) is the answer.
    if (
      geo.code === Code.INVALID_ARGUMENT ||
      geo.code === Code.NOT_FOUND ||
      geo.code === Code.FAILED_PRECONDITION
    ) {
      throw geo;
    }
    link.logger.debug(
      { method, leader: address, err: geo.message },
      "forwarding to the leader failed",
    );
    return undefined;
  }
};

/** A change only the leader makes; see {@link LeaderForwarder.forwardWrite}. */
const forwardWrite: Forwarding<WriteMethod> = async (link, method, request, context) => {
  if (link.leadership.isLeader()) return undefined;
  const unavailable = (why: string) =>
    new GeoError(
      Code.UNAVAILABLE,
      `flows change only through the leader coordinator: ${why}; retry`,
      {
        retriable: true,
      },
    );
  if (context.metadataValue(FORWARDED_BY) !== undefined) {
    throw unavailable("this coordinator stopped leading meanwhile");
  }
  let address: string | undefined;
  try {
    address = await link.leaderAddress();
  } catch (error) {
    throw unavailable(`cannot tell which coordinator leads (${GeoError.from(error).message})`);
  }
  if (address === undefined) throw unavailable("no coordinator leads right now");
  // A change waits for the flow store's acknowledgement: allow it the caller's whole deadline.
  return await link.call(method, address, request, context, 60_000);
};
