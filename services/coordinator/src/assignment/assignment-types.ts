// What the assignment loop and its round steps share with the rest of the coordinator: the lease
// store operations, the agents' sessions, recorded epochs and the status view.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { LeaseStore } from "@geo/leases";
import type { Epoch } from "@geo/positions";
import type { agentV1 } from "@geo/proto";
import type { DesiredUnit } from "../discovery";
import type { UnitAssignment } from "./unit-status";

export type CoordinatorMessage = MessageInitShape<typeof agentV1.CoordinatorMessageSchema>;

/**
 * The highest epoch each unit's progress records in the target cluster carry (NO_EPOCH or absent
 * when none). Grants start above it, so an empty Redis never hands out an epoch already used.
 */
export type MinEpochOf = (units: readonly DesiredUnit[]) => Promise<ReadonlyMap<string, Epoch>>;

/** No unit has recorded progress: epochs rest on Redis alone (tests of the loop use it). */
export const noRecordedEpochs: MinEpochOf = async () => new Map();

/** The lease store operations the loop uses. */
export type AssignmentStore = Pick<
  LeaseStore,
  "listLiveAgents" | "getUnits" | "grantUnit" | "revokeUnit"
>;

export interface ConnectedAgent {
  readonly agentId: string;
  readonly region: string;
  readonly sessionId: string;
  /** Relative balancing weight (Hello.capacity.weight, 1 when unset). */
  readonly capacity: number;
}

/** What the loop needs from the agents' sessions. */
export interface AgentDirectory {
  /** Agents with an open session now. */
  connected(): readonly ConnectedAgent[];
  /** Monotonic ms when the agent's last session ended; undefined when it has one open or never had. */
  disconnectedAt(agentId: string): number | undefined;
  /** Queues a message on that session; false when the session is gone. */
  send(agentId: string, sessionId: string, message: CoordinatorMessage): boolean;
  /** Steady bytes/s of the unit as its running agent last measured it; undefined when no agent reports it running or it is not measured yet. */
  unitLoad(unitId: string): number | undefined;
}

export interface AssignmentView {
  readonly leading: boolean;
  /** Generation of the last snapshots sent. */
  readonly generation: bigint;
  /** When the desired assignment last changed. */
  readonly computeTime: Date | undefined;
  /** Per unit id, for units of running flows. */
  readonly units: ReadonlyMap<string, UnitAssignment>;
  /** Units desired on each agent. */
  readonly desiredCounts: ReadonlyMap<string, number>;
}
