// One agent session, from hello to end: the hello checked (and held while this coordinator is not
// the leader), the agent's record replacing any older session's, its messages read (heartbeats,
// reports, releases) while the coordinator's are written, and its reports dropped at the end.
import { randomUUID } from "node:crypto";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
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
import type { agentV1 } from "@geo/proto";
import { type AgentRecord, agentRecordOf } from "./agent-record";
import { type CoordinatorMessage, OpenSession } from "./open-session";
import type { UnitReports } from "./unit-reports";

type AgentMessages = AsyncIterator<agentV1.AgentMessage>;

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

/** What every session works with. */
export interface SessionContext {
  readonly config: GeoConfig;
  readonly coordinatorId: string;
  readonly logger: Logger;
  /** Without a gate every session is accepted. */
  readonly gate: SessionGate | undefined;
  /** How long a standby holds a hello waiting to be elected. */
  readonly holdMs: number;
  /** The regions of the configured clusters, the only ones an agent may name. */
  readonly regions: ReadonlySet<string>;
  readonly heartbeatIntervalMs: number;
  /** Every agent that connected since this process started, by id. */
  readonly agents: Map<string, AgentRecord>;
  /** The sessions open now, by session id. */
  readonly open: Map<string, OpenSession>;
  readonly reports: UnitReports;
  emit(event: SessionEvent): void;
}

/** Serves one AgentSession.Connect call. */
export async function* serveSession(
  ctx: SessionContext,
  requests: AsyncIterable<agentV1.AgentMessage>,
  context: HandlerContext,
): AsyncIterable<CoordinatorMessage> {
  const iterator = requests[Symbol.asyncIterator]();
  const hello = await acceptHello(ctx, iterator, context);
  if (hello === undefined) return;
  const record = register(ctx, hello);
  const { sessionId } = record;
  const session = new OpenSession(sessionId, record.id);
  const onAbort = () => session.end(GeoError.from(context.signal.reason));
  context.signal.addEventListener("abort", onAbort, { once: true });
  ctx.open.set(sessionId, session);
  const log = ctx.logger.child({ agent: record.id, region: record.region, session: sessionId });
  log.info({ peer: context.peer }, "agent connected");

  readMessages(ctx, iterator, record, log).then(
    () => session.end(null),
    (error: unknown) => session.end(GeoError.from(error)),
  );

  try {
    yield welcome(ctx, sessionId);
    ctx.emit({ kind: "connected", agentId: record.id });
    yield* session.messages();
  } finally {
    context.signal.removeEventListener("abort", onAbort);
    session.end(null);
    ctx.open.delete(sessionId);
    // A newer session of the same agent may already have replaced this record.
    if (ctx.agents.get(record.id)?.sessionId === sessionId) {
      record.connected = false;
      record.disconnectedAt = performance.now();
      ctx.reports.dropAll(record);
      ctx.emit({ kind: "disconnected", agentId: record.id });
    }
    iterator.return?.()?.catch(() => {});
    log.info("agent session ended");
  }
}

/**
 * The session's hello, checked; undefined when the call ended first. A standby holds it up to
 * holdMs in case it is being elected, then refuses it UNAVAILABLE naming the leader.
 */
async function acceptHello(
  { regions, gate, holdMs }: SessionContext,
  iterator: AgentMessages,
  context: HandlerContext,
): Promise<agentV1.Hello | undefined> {
  const first = await iterator.next();
  if (first.done === true) return undefined;
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
    if (context.signal.aborted) return undefined;
    const leaderAddress = await gate.leaderAddress?.().catch(() => undefined);
    throw new GeoError(Code.UNAVAILABLE, `not the leader; ${await gate.describeLeader()}`, {
      retriable: true,
      ...(leaderAddress === undefined ? {} : { details: { leaderAddress } }),
    });
  }
  return hello;
}

/** The agent's new record, with the units its hello says it runs. */
function register({ agents, open, reports }: SessionContext, hello: agentV1.Hello): AgentRecord {
  const record = agentRecordOf(hello, randomUUID());
  const previous = agents.get(hello.agentId);
  if (previous !== undefined) {
    // A newer session of the same agent replaces the old one (which may be half-open).
    open
      .get(previous.sessionId)
      ?.end(new GeoError(Code.UNAVAILABLE, "replaced by a newer session of the same agent"));
    reports.dropAll(previous);
  }
  agents.set(record.id, record);
  reports.apply(record, hello.runningUnits, true);
  return record;
}

/** Reads the agent's messages until it ends its side; throws on a second hello. */
async function readMessages(
  { reports, emit }: SessionContext,
  iterator: AgentMessages,
  record: AgentRecord,
  log: Logger,
): Promise<void> {
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
        reports.apply(record, message.value.reports, message.value.complete);
        emit({ kind: "reports", agentId: record.id });
        break;
      case "released": {
        const unit = message.value.unit;
        if (unit === undefined) break;
        const unitId = unitIdOf(unit);
        const epoch = requireEpoch(message.value.epoch, "released.epoch");
        reports.drop(record, unitId);
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
}

function welcome(
  { coordinatorId, config, heartbeatIntervalMs }: SessionContext,
  sessionId: string,
): CoordinatorMessage {
  return {
    message: {
      case: "welcome",
      value: {
        sessionId,
        coordinatorId,
        leaseTtl: durationFromMs(config.leases.ttlMs),
        heartbeatInterval: durationFromMs(heartbeatIntervalMs),
        reportInterval: durationFromMs(heartbeatIntervalMs),
      },
    },
  };
}
