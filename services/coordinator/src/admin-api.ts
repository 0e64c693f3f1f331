// CoordinatorService: clusters from the configuration; flows (the file's and the API's, from the
// flow registry) with the status discovery observes and their history; the agents connected now;
// and the units discovery wants run with their desired owner (the assignment loop's) beside what
// agents report (actual owner, state, lag), and the gap between the two. A standby forwards status
// reads to the leader, which holds the agents' sessions, and answers them itself when the leader
// cannot be reached; flow changes only the leader makes, so a standby forwards them or refuses.

import type { ServiceImpl } from "@geo/grpc";
import type { CoordinatorService } from "@geo/proto";
import { flowReadHandlers, flowWriteHandlers } from "./admin-flow-handlers";
import { clusterHandlers, unitHandlers } from "./admin-status-handlers";
import { type AdminApiOptions, AdminViews } from "./admin-views";

export type { AdminApiOptions } from "./admin-views";

export function createAdminApi(
  options: AdminApiOptions,
): Partial<ServiceImpl<typeof CoordinatorService>> {
  const views = new AdminViews(options);
  return {
    ...clusterHandlers(options, views),
    ...flowReadHandlers(options, views),
    ...flowWriteHandlers(options, views),
    ...unitHandlers(options, views),
  };
}
