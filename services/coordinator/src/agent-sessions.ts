// The coordinator's side of the agent session: agents say hello, heartbeat, report what they run
// and say when they released a unit; the coordinator welcomes them and pushes their assignment
// (snapshots and revokes, from the assignment loop) whenever it has something to say.
//
// Only the leader holds sessions. A standby answers Hello by waiting a little (up to `holdMs`) in
// case it is being elected, then ends the call with UNAVAILABLE "not the leader; the leader is
// <id> at <address>" and the address in the error's details; the agent reconnects there (or,
// behind a shared address, with backoff until it reaches the leader). A leader that loses its
// term ends every session the same way. The agents' leases live in Redis, so their replication
// goes on meanwhile: the hub is not in the data path.
//
// Parts: agent-session (one call, hello to end), open-session (its outbox), agent-record (an
// agent and its ListAgents view), unit-reports (what agents report, by unit).
import type { GeoConfig } from "@geo/config";
import type { GeoError, HandlerContext } from "@geo/grpc";
import type { Logger } from "@geo/logging";
import type { agentV1 } from "@geo/proto";
import { type AgentView, agentView } from "./agent-record";
import {
  type SessionContext,
  type SessionEvent,
  type SessionGate,
  serveSession,
} from "./agent-session";
import type { AgentDirectory } from "./assignment/assignment-loop";
import type { ReportedUnit } from "./assignment/unit-status";
import type { CoordinatorMessage } from "./open-session";
import { UnitReports } from "./unit-reports";

export interface AgentSessions extends AgentDirectory {
  connect(
    requests: AsyncIterable<agentV1.AgentMessage>,
    context: HandlerContext,
  ): AsyncIterable<CoordinatorMessage>;
  list(filter: {
    region: string;
    includeDisconnected: boolean;
    desiredCount?: (agentId: string) => number;
  }): AgentView[];
  /** What connected agents report for a unit. */
  reportsFor(unitId: string): ReportedUnit[];
  /** Ends every session (e.g. with UNAVAILABLE when leadership is lost). */
  endAll(error: GeoError): void;
}

export interface AgentSessionsOptions {
  config: GeoConfig;
  coordinatorId: string;
  logger: Logger;
  /** Without a gate every session is accepted (a single coordinator, tests). */
  gate?: SessionGate;
  /** How long a standby holds a Hello waiting to be elected. Default the renew interval. */
  holdMs?: number;
  onEvent?: (event: SessionEvent) => void;
}

export function createAgentSessions(options: AgentSessionsOptions): AgentSessions {
  const { config, logger } = options;
  const ctx: SessionContext = {
    config,
    coordinatorId: options.coordinatorId,
    logger,
    gate: options.gate,
    holdMs: options.holdMs ?? config.leases.renewIntervalMs,
    regions: new Set(Object.values(config.clusters).map((cluster) => cluster.region)),
    heartbeatIntervalMs: Math.max(500, Math.floor(config.leases.renewIntervalMs)),
    agents: new Map(),
    open: new Map(),
    reports: new UnitReports(),
    emit: (event) => {
      try {
        options.onEvent?.(event);
      } catch (error) {
        logger.error({ err: String(error) }, "session event listener threw");
      }
    },
  };
  const { agents, open, reports } = ctx;
  return {
    connect: (requests, context) => serveSession(ctx, requests, context),
    connected: () =>
      [...agents.values()]
        .filter((agent) => agent.connected && open.has(agent.sessionId))
        .map((agent) => ({
          agentId: agent.id,
          region: agent.region,
          sessionId: agent.sessionId,
          capacity: agent.capacity,
        })),
    disconnectedAt: (agentId) => agents.get(agentId)?.disconnectedAt,
    send(agentId, sessionId, message) {
      const session = open.get(sessionId);
      if (session === undefined || session.agentId !== agentId) return false;
      session.send(message);
      return true;
    },
    unitLoad: (unitId) => reports.unitLoad(unitId),
    reportsFor: (unitId) => reports.reportsFor(unitId),
    endAll(error) {
      for (const session of [...open.values()]) session.end(error);
    },
    list: ({ region, includeDisconnected, desiredCount }) =>
      [...agents.values()]
        .filter(
          (agent) =>
            (region === "" || agent.region === region) && (includeDisconnected || agent.connected),
        )
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map((agent) => agentView(agent, desiredCount?.(agent.id) ?? 0)),
  };
}
