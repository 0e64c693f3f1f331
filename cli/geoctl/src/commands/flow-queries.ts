// Reads of the coordinator's flows that several commands share.
import { Code, GeoError, type GrpcClient } from "@geo/grpc";
import { CoordinatorService, type coordinatorV1 } from "@geo/proto";
import { allPages } from "../pages";
import type { CommandContext } from "../runtime";

type Coordinator = GrpcClient<typeof CoordinatorService>;

export const coordinator = (context: CommandContext): Coordinator =>
  context.client("coordinator", CoordinatorService);

/** Every flow, in name order. */
export async function listFlows(
  client: Coordinator,
  filter: { source?: string; target?: string } = {},
): Promise<coordinatorV1.Flow[]> {
  return allPages(async (pageToken) => {
    const page = await client.listFlows({
      sourceCluster: filter.source ?? "",
      targetCluster: filter.target ?? "",
      pageSize: 1000,
      pageToken,
    });
    return { items: page.flows, nextPageToken: page.nextPageToken };
  });
}

/** The flow, or undefined when the coordinator has none of that name. */
export async function findFlow(
  client: Coordinator,
  name: string,
): Promise<coordinatorV1.Flow | undefined> {
  try {
    return (await client.getFlow({ name })).flow;
  } catch (error) {
    if (GeoError.from(error).code === Code.NOT_FOUND) return undefined;
    throw error;
  }
}
