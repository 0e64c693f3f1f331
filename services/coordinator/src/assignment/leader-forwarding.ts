// A standby has neither the agents' sessions nor the assignment, so it forwards the status reads
// (ListAgents, ListUnits, GetUnit, GetAssignment) to the leader and relays its answer, whatever
// coordinator an operator's client reached. When the leader cannot be reached the standby answers
// from what it knows itself (units without owner, reason given). A forwarded call carries
// `x-geo-forwarded-by`, and is never forwarded again.
import type { MessageShape } from "@bufbuild/protobuf";
import { Code, createGrpcClient, GeoError, type GrpcClient, type HandlerContext } from "@geo/grpc";
import type { Logger } from "@geo/logging";
import { CoordinatorService } from "@geo/proto";
import type { Leadership } from "./leadership";

export const FORWARDED_BY = "x-geo-forwarded-by";

type Method = "listAgents" | "listUnits" | "getUnit" | "getAssignment";
type Service = typeof CoordinatorService;
type RequestOf<M extends Method> = MessageShape<Service["method"][M]["input"]>;
type ResponseOf<M extends Method> = MessageShape<Service["method"][M]["output"]>;

export interface LeaderForwarder {
  /** The leader's answer, or undefined when this coordinator should answer itself. */
  forward<M extends Method>(
    method: M,
    request: RequestOf<M>,
    context: HandlerContext,
  ): Promise<ResponseOf<M> | undefined>;
  close(): void;
}

export function createLeaderForwarder(options: {
  leadership: Pick<Leadership, "id" | "isLeader" | "leader">;
  logger: Logger;
  timeoutMs?: number;
}): LeaderForwarder {
  const { leadership, logger } = options;
  const timeoutMs = options.timeoutMs ?? 5000;
  const clients = new Map<string, GrpcClient<Service>>();
  const clientFor = (address: string) => {
    let client = clients.get(address);
    if (client === undefined) {
      client = createGrpcClient(CoordinatorService, { address, defaultTimeoutMs: timeoutMs });
      clients.set(address, client);
    }
    return client;
  };
  return {
    async forward(method, request, context) {
      if (leadership.isLeader() || context.metadataValue(FORWARDED_BY) !== undefined) {
        return undefined;
      }
      let address: string | undefined;
      try {
        const leader = await leadership.leader();
        if (leader === undefined || leader.id === leadership.id) return undefined;
        address = leader.address;
      } catch {
        return undefined;
      }
      if (address === undefined) return undefined;
      const remaining = context.timeRemainingMs();
      const call = clientFor(address)[method] as unknown as (
        request: RequestOf<typeof method>,
        options: object,
      ) => Promise<ResponseOf<typeof method>>;
      try {
        return await call(request, {
          timeoutMs: Math.max(1, Math.min(timeoutMs, (remaining ?? timeoutMs) - 100)),
          signal: context.signal,
          metadata: { [FORWARDED_BY]: leadership.id },
        });
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
        logger.debug(
          { method, leader: address, err: geo.message },
          "forwarding to the leader failed",
        );
        return undefined;
      }
    },
    close() {
      for (const client of clients.values()) client.close();
      clients.clear();
    },
  };
}
