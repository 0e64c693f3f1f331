// The agent's side of the session with the coordinator. The coordinator is not in the data path:
// when it is away the agent keeps running what it runs and reconnects with backoff.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationMs, timestampNow } from "@bufbuild/protobuf/wkt";
import { createBackoff, sleep } from "@geo/backoff";
import {
  createGrpcClient,
  createRequestQueue,
  GeoError,
  type GrpcClient,
  type GrpcClientOptions,
} from "@geo/grpc";
import type { Logger } from "@geo/logging";
import { AgentSessionService, type agentV1 } from "@geo/proto";

type AgentMessage = MessageInitShape<typeof agentV1.AgentMessageSchema>;

export type SessionState = "connecting" | "connected" | "disconnected";

export interface SessionStatus {
  state: SessionState;
  sessionId: string;
  changedAt: Date;
  assignmentGeneration: string;
}

export interface CoordinatorSession {
  status(): SessionStatus;
  /** Sends on the open session; returns false (and drops the message) while disconnected. */
  send(message: AgentMessage): boolean;
  stop(): Promise<void>;
}

export interface CoordinatorSessionOptions {
  coordinatorAddress: string;
  /** Client options per address (TLS, token); default plaintext. */
  clientOptions?: (address: string) => GrpcClientOptions;
  /** Built at every (re)connect, so the hello carries what the agent runs at that moment. */
  hello(): MessageInitShape<typeof agentV1.HelloSchema>;
  logger: Logger;
  /** The coordinator's full desired set for this agent. */
  onAssignment(snapshot: agentV1.AssignmentSnapshot): void;
  /** The coordinator moves a unit away: stop it, then answer with `released`. */
  onRevoke(revoke: agentV1.Revoke): void;
  /**
   * Backoff between reconnects, doubling from min to max (default 200 ms to 2 s): a restarted
   * coordinator holds a live agent's units while it reconnects, and a short maximum keeps that
   * wait, and the time until new assignments arrive, short.
   */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Every call has a deadline; a session is reopened when it reaches this one, which bounds how
   * long a half-open connection could go unnoticed on top of keepalive.
   */
  sessionDeadlineMs?: number;
}

export function startCoordinatorSession(options: CoordinatorSessionOptions): CoordinatorSession {
  const clients = createClientCache(options.clientOptions);
  const stopping = new AbortController();
  const session: SessionContext = {
    options,
    stopping: stopping.signal,
    clientFor: clients.clientFor,
    address: options.coordinatorAddress,
    status: {
      state: "connecting",
      sessionId: "",
      changedAt: new Date(),
      assignmentGeneration: "0",
    },
    current: undefined,
  };
  const loop = reconnectLoop(session);

  return {
    status: () => session.status,
    send: (message) => {
      if (session.current === undefined) return false;
      session.current.push(message);
      return true;
    },
    stop: async () => {
      stopping.abort();
      await loop;
      setState(session, "disconnected", "");
      clients.closeAll();
    },
  };
}

type Outbox = ReturnType<typeof createRequestQueue<AgentMessage>>;
type SessionClient = GrpcClient<typeof AgentSessionService>;

/** What the session attempts share: where to dial next, the status, the open session's outbox. */
interface SessionContext {
  readonly options: CoordinatorSessionOptions;
  readonly stopping: AbortSignal;
  readonly clientFor: (address: string) => SessionClient;
  address: string;
  status: SessionStatus;
  /** The outbox of the welcomed session; undefined while disconnected. */
  current: Outbox | undefined;
}

/**
 * One client per address, kept: a standby names the leader's address; the agent goes there next,
 * and back to the configured address when the named one does not welcome it (the leader moved
 * again, or is unreachable).
 */
function createClientCache(clientOptions: CoordinatorSessionOptions["clientOptions"]) {
  const clients = new Map<string, SessionClient>();
  return {
    clientFor(address: string): SessionClient {
      let client = clients.get(address);
      if (client === undefined) {
        client = createGrpcClient(AgentSessionService, clientOptions?.(address) ?? { address });
        clients.set(address, client);
      }
      return client;
    },
    closeAll() {
      for (const client of clients.values()) client.close();
    },
  };
}

function setState(
  session: SessionContext,
  state: SessionState,
  sessionId = session.status.sessionId,
): void {
  if (state !== session.status.state) {
    session.status = { ...session.status, state, sessionId, changedAt: new Date() };
  }
}

/** Opens sessions until stopped, backing off while the coordinator is away. */
async function reconnectLoop(session: SessionContext): Promise<void> {
  // Jittered (the shared policy): a region's agents do not reconnect in lockstep after a
  // coordinator restart.
  const backoff = createBackoff({
    initialMs: session.options.minBackoffMs ?? 200,
    maxMs: session.options.maxBackoffMs ?? 2000,
  });
  while (!session.stopping.aborted) {
    const welcomed = await runOnce(session);
    if (welcomed) backoff.reset();
    await sleep(backoff.next(), session.stopping);
  }
}

/**
 * One session, from hello until the stream ends. True when the next attempt needs no backoff:
 * the coordinator welcomed the agent, or a standby named the leader to go to.
 */
async function runOnce(session: SessionContext): Promise<boolean> {
  const { options } = session;
  const outbox = createRequestQueue<AgentMessage>();
  let heartbeat: NodeJS.Timeout | undefined;
  let welcomed = false;
  let sequence = 0n;
  const nextSequence = () => {
    sequence += 1n;
    return sequence;
  };
  outbox.push({ message: { case: "hello", value: options.hello() } });
  try {
    const responses = session.clientFor(session.address).connect(outbox.iterable, {
      timeoutMs: options.sessionDeadlineMs ?? 3_600_000,
      signal: session.stopping,
    });
    for await (const response of responses) {
      const message = response.message;
      if (message.case === "welcome") {
        welcomed = true;
        heartbeat = onWelcome(session, outbox, message.value, nextSequence);
      } else if (message.case === "assignment") {
        session.status = { ...session.status, assignmentGeneration: message.value.generation };
        options.logger.info(
          { generation: message.value.generation, units: message.value.units.length },
          "assignment received",
        );
        options.onAssignment(message.value);
      } else if (message.case === "revoke") {
        options.onRevoke(message.value);
      }
    }
    return welcomed;
  } catch (error) {
    const redirected = followAfterLoss(session, error, welcomed);
    return welcomed || redirected;
  } finally {
    clearInterval(heartbeat);
    if (session.current === outbox) session.current = undefined;
    outbox.end();
    setState(session, session.stopping.aborted ? "disconnected" : "connecting", "");
  }
}

/** The session is open: sends go to its outbox, heartbeats start at the coordinator's interval. */
function onWelcome(
  session: SessionContext,
  outbox: Outbox,
  welcome: agentV1.Welcome,
  nextSequence: () => bigint,
): NodeJS.Timeout {
  session.current = outbox;
  setState(session, "connected", welcome.sessionId);
  const interval = welcome.heartbeatInterval;
  const everyMs = Math.max(200, interval === undefined ? 1000 : durationMs(interval));
  const heartbeat = setInterval(() => {
    outbox.push({
      message: {
        case: "heartbeat",
        value: { sequence: String(nextSequence()), sendTime: timestampNow() },
      },
    });
  }, everyMs);
  session.options.logger.info({ session: welcome.sessionId, heartbeatMs: everyMs }, "session open");
  return heartbeat;
}

/**
 * Picks the address of the next attempt after a lost session: the leader a standby named (only
 * before a welcome), else the configured one. True when that is a redirect to a named leader.
 */
function followAfterLoss(session: SessionContext, error: unknown, welcomed: boolean): boolean {
  const { options } = session;
  const geo = GeoError.from(error);
  const leaderAddress = geo.details?.leaderAddress;
  const next =
    typeof leaderAddress === "string" && leaderAddress !== "" && !welcomed
      ? leaderAddress
      : options.coordinatorAddress;
  if (!session.stopping.aborted) {
    options.logger.warn(
      { code: geo.codeName, err: geo.message, coordinator: session.address, next },
      "coordinator session lost; reconnecting",
    );
  }
  // Straight to a named leader; the backoff is for a coordinator that is away.
  const redirected = next !== session.address && next !== options.coordinatorAddress;
  session.address = next;
  return redirected;
}
