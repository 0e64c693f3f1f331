// The coordinator's side of the agent session: agents say hello, heartbeat, report what they run
// and say when they released a unit; the coordinator welcomes them and pushes their assignment
// (snapshots and revokes, from the assignment loop) whenever it has something to say.
//
// Only the leader holds sessions. A standby answers Hello by waiting a little (up to `holdMs`) in
// case it is being elected, then ends the call with UNAVAILABLE "not the leader; the leader is
// <id> at <address>" and the address in the error's details; the agent reconnects there (or,
// behind a shared address, with backoff until it reaches the leader). A leader that loses its term ends every session the same way. The agents' leases live
// in Redis, so their replication goes on meanwhile: the hub is not in the data path.
import { randomUUID } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { GeoConfig } from "@geo/config";
import {
  Code,
  GeoError,
  type HandlerContext,
  invalidArgument,
  requireAgentIdentity,
  requireEpoch,
  requireNonEmpty,
} from "@geo/grpc";
import type { Logger } from "@geo/logging";
import type { Epoch } from "@geo/positions";
import { unitId as unitIdOf } from "@geo/progress";
import { type agentV1, type coordinatorV1, replicationV1 } from "@geo/proto";
import type { AgentDirectory, ConnectedAgent } from "./assignment/assignment-loop";
import type { ReportedUnit } from "./assignment/unit-status";

type AgentMessage = agentV1.AgentMessage;
type CoordinatorMessage = MessageInitShape<typeof agentV1.CoordinatorMessageSchema>;
type AgentView = MessageInitShape<typeof coordinatorV1.AgentSchema>;

export interface AgentRecord {
  id: string;
  region: string;
  address: string;
  version: string;
  capacity: number;
  sessionId: string;
  connected: boolean;
  connectedSince: Date;
  lastHeartbeat: Date;
  /** Monotonic ms when the last session ended; undefined while connected. */
  disconnectedAt: number | undefined;
  /** The agent's latest report per unit id. */
  reports: Map<string, agentV1.UnitReport>;
}

/** What the sessions tell the assignment loop. */
export type SessionEvent =
  | { readonly kind: "connected" | "disconnected" | "reports"; readonly agentId: string }
  | {
      readonly kind: "released";
      readonly agentId: string;
      readonly unitId: string;
      readonly epoch: Epoch;
    };

/** Whether this coordinator may hold sessions (it leads); see ./assignment/leadership. */
export interface SessionGate {
  isLeader(): boolean;
  waitForLeadership(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  describeLeader(): Promise<string>;
  /** The leader's address for agents to reconnect to; undefined when unknown or this one. */
  leaderAddress?(): Promise<string | undefined>;
}

export interface AgentSessions extends AgentDirectory {
  connect(
    requests: AsyncIterable<AgentMessage>,
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

interface OpenSession {
  readonly sessionId: string;
  readonly agentId: string;
  send(message: CoordinatorMessage): void;
  end(error: GeoError | null): void;
}

export function createAgentSessions(options: AgentSessionsOptions): AgentSessions {
  const { config, logger, gate } = options;
  const agents = new Map<string, AgentRecord>();
  const open = new Map<string, OpenSession>();
  /** unit id → agent id → report, over connected agents. */
  const byUnit = new Map<string, Map<string, agentV1.UnitReport>>();
  const regions = new Set(Object.values(config.clusters).map((cluster) => cluster.region));
  const heartbeatIntervalMs = Math.max(500, Math.floor(config.leases.renewIntervalMs));
  const holdMs = options.holdMs ?? config.leases.renewIntervalMs;
  const emit = (event: SessionEvent) => {
    try {
      options.onEvent?.(event);
    } catch (error) {
      logger.error({ err: String(error) }, "session event listener threw");
    }
  };

  const setReport = (record: AgentRecord, unitId: string, report: agentV1.UnitReport) => {
    record.reports.set(unitId, report);
    let reporters = byUnit.get(unitId);
    if (reporters === undefined) {
      reporters = new Map();
      byUnit.set(unitId, reporters);
    }
    reporters.set(record.id, report);
  };
  const dropReport = (record: AgentRecord, unitId: string) => {
    record.reports.delete(unitId);
    const reporters = byUnit.get(unitId);
    reporters?.delete(record.id);
    if (reporters?.size === 0) byUnit.delete(unitId);
  };
  const applyReports = (
    record: AgentRecord,
    reports: readonly agentV1.UnitReport[],
    complete: boolean,
  ) => {
    const seen = new Set<string>();
    for (const report of reports) {
      if (report.unit === undefined) continue;
      const unitId = unitIdOf(report.unit);
      seen.add(unitId);
      setReport(record, unitId, report);
    }
    if (complete) {
      for (const unitId of [...record.reports.keys()]) {
        if (!seen.has(unitId)) dropReport(record, unitId);
      }
    }
  };

  async function* connect(
    requests: AsyncIterable<AgentMessage>,
    context: HandlerContext,
  ): AsyncIterable<CoordinatorMessage> {
    const iterator = requests[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done === true) return;
    if (first.value.message.case !== "hello") {
      throw new GeoError(
        Code.FAILED_PRECONDITION,
        `the first message of a session must be hello, got ${first.value.message.case ?? "an empty message"}`,
      );
    }
    const hello = first.value.message.value;
    requireNonEmpty(hello.agentId, "hello.agent_id");
    requireNonEmpty(hello.region, "hello.region");
    requireAgentIdentity(context, hello);
    if (!regions.has(hello.region)) {
      throw invalidArgument(
        "hello.region",
        `"${hello.region}" is not the region of any configured cluster (${[...regions].sort().join(", ")})`,
      );
    }
    if (gate !== undefined && !(await gate.waitForLeadership(holdMs, context.signal))) {
      if (context.signal.aborted) return;
      const leaderAddress = await gate.leaderAddress?.().catch(() => undefined);
      throw new GeoError(Code.UNAVAILABLE, `not the leader; ${await gate.describeLeader()}`, {
        retriable: true,
        ...(leaderAddress === undefined ? {} : { details: { leaderAddress } }),
      });
    }

    const sessionId = randomUUID();
    const now = new Date();
    const weight = hello.capacity?.weight ?? 0;
    const previous = agents.get(hello.agentId);
    const record: AgentRecord = {
      id: hello.agentId,
      region: hello.region,
      address: hello.advertiseAddress,
      version: hello.version,
      capacity: weight > 0 && Number.isFinite(weight) ? weight : 1,
      sessionId,
      connected: true,
      connectedSince: now,
      lastHeartbeat: now,
      disconnectedAt: undefined,
      reports: new Map(),
    };
    if (previous !== undefined) {
      // A newer session of the same agent replaces the old one (which may be half-open).
      open
        .get(previous.sessionId)
        ?.end(new GeoError(Code.UNAVAILABLE, "replaced by a newer session of the same agent"));
      for (const unitId of [...previous.reports.keys()]) dropReport(previous, unitId);
    }
    agents.set(record.id, record);
    applyReports(record, hello.runningUnits, true);

    // Messages to the agent queue here; the loop below yields them as they come.
    const outbox: CoordinatorMessage[] = [];
    let ended: GeoError | null | undefined;
    let wake: (() => void) | undefined;
    const session: OpenSession = {
      sessionId,
      agentId: record.id,
      send(message) {
        if (ended !== undefined) return;
        outbox.push(message);
        wake?.();
      },
      end(error) {
        if (ended !== undefined) return;
        ended = error;
        wake?.();
      },
    };
    const onAbort = () => session.end(GeoError.from(context.signal.reason));
    context.signal.addEventListener("abort", onAbort, { once: true });
    open.set(sessionId, session);
    const log = logger.child({ agent: record.id, region: record.region, session: sessionId });
    log.info({ peer: context.peer }, "agent connected");

    const reading = (async () => {
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return;
        const message = next.value.message;
        switch (message.case) {
          case "heartbeat":
            record.lastHeartbeat = new Date();
            break;
          case "unitReports":
            record.lastHeartbeat = new Date();
            applyReports(record, message.value.reports, message.value.complete);
            emit({ kind: "reports", agentId: record.id });
            break;
          case "released": {
            const unit = message.value.unit;
            if (unit === undefined) break;
            const unitId = unitIdOf(unit);
            const epoch = requireEpoch(message.value.epoch, "released.epoch");
            dropReport(record, unitId);
            log.info(
              { unit: unitId, epoch: message.value.epoch, reason: message.value.reason },
              "unit released",
            );
            emit({ kind: "released", agentId: record.id, unitId, epoch });
            break;
          }
          case "hello":
            throw new GeoError(Code.FAILED_PRECONDITION, "hello may only be sent once per session");
          default:
            break;
        }
      }
    })();
    reading.then(
      () => session.end(null),
      (error: unknown) => session.end(GeoError.from(error)),
    );

    try {
      yield {
        message: {
          case: "welcome",
          value: {
            sessionId,
            coordinatorId: options.coordinatorId,
            leaseTtl: durationFromMs(config.leases.ttlMs),
            heartbeatInterval: durationFromMs(heartbeatIntervalMs),
            reportInterval: durationFromMs(heartbeatIntervalMs),
          },
        },
      };
      emit({ kind: "connected", agentId: record.id });
      for (;;) {
        const message = outbox.shift();
        if (message !== undefined) {
          yield message;
          continue;
        }
        if (ended === null) return;
        if (ended !== undefined) throw ended;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      context.signal.removeEventListener("abort", onAbort);
      session.end(null);
      open.delete(sessionId);
      // A newer session of the same agent may already have replaced this record.
      if (agents.get(record.id)?.sessionId === sessionId) {
        record.connected = false;
        record.disconnectedAt = performance.now();
        for (const unitId of [...record.reports.keys()]) dropReport(record, unitId);
        emit({ kind: "disconnected", agentId: record.id });
      }
      iterator.return?.()?.catch(() => {});
      log.info("agent session ended");
    }
  }

  const connected = (): ConnectedAgent[] =>
    [...agents.values()]
      .filter((agent) => agent.connected && open.has(agent.sessionId))
      .map((agent) => ({
        agentId: agent.id,
        region: agent.region,
        sessionId: agent.sessionId,
        capacity: agent.capacity,
      }));

  return {
    connect,
    connected,
    disconnectedAt: (agentId) => agents.get(agentId)?.disconnectedAt,
    send(agentId, sessionId, message) {
      const session = open.get(sessionId);
      if (session === undefined || session.agentId !== agentId) return false;
      session.send(message);
      return true;
    },
    unitLoad(unitId) {
      const reporters = byUnit.get(unitId);
      let load: number | undefined;
      for (const report of reporters?.values() ?? []) {
        if (report.state !== replicationV1.UnitState.RUNNING) continue;
        // The source's growth, not the copy rate: a unit catching up after a move copies faster
        // than its steady load, and balancing on that would move units again and again. Not yet
        // measured (a unit's first seconds): the unit keeps the load it was last known by.
        const bytes = report.loadBytesPerSecond;
        if (bytes === undefined || !Number.isFinite(bytes)) continue;
        load = Math.max(load ?? 0, Math.max(0, bytes));
      }
      return load;
    },
    reportsFor(unitId) {
      const reporters = byUnit.get(unitId);
      if (reporters === undefined) return [];
      return [...reporters].map(([agentId, report]) => ({ agentId, report }));
    },
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
        .map((agent) => {
          let running = 0;
          let bytes = 0;
          let records = 0;
          let lag = 0n;
          for (const report of agent.reports.values()) {
            if (report.state === replicationV1.UnitState.RUNNING) running++;
            bytes += report.bytesPerSecond;
            records += report.recordsPerSecond;
            lag += BigInt(report.lag?.records || "0");
          }
          return {
            id: agent.id,
            region: agent.region,
            address: agent.address,
            version: agent.version,
            connected: agent.connected,
            connectedSince: timestampFromDate(agent.connectedSince),
            lastHeartbeatTime: timestampFromDate(agent.lastHeartbeat),
            desiredUnitCount: desiredCount?.(agent.id) ?? 0,
            runningUnitCount: running,
            load: {
              bytesPerSecond: bytes,
              recordsPerSecond: records,
              lagRecords: String(lag),
            },
          };
        }),
  };
}
