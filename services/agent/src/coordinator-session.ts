// The agent's side of the session with the coordinator. The coordinator is not in the data path:
// when it is away the agent keeps running what it runs and reconnects with backoff.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationMs, timestampNow } from "@bufbuild/protobuf/wkt";
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
  /** Backoff between reconnects, doubling from min to max. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Every call has a deadline; a session is reopened when it reaches this one, which bounds how
   * long a half-open connection could go unnoticed on top of keepalive.
   */
  sessionDeadlineMs?: number;
}

export function startCoordinatorSession(options: CoordinatorSessionOptions): CoordinatorSession {
  const { logger } = options;
  // A standby names the leader's address; the agent goes there next, and back to the configured
  // address when the named one does not welcome it (the leader moved again, or is unreachable).
  const clients = new Map<string, GrpcClient<typeof AgentSessionService>>();
  const clientFor = (address: string) => {
    let client = clients.get(address);
    if (client === undefined) {
      client = createGrpcClient(
        AgentSessionService,
        options.clientOptions?.(address) ?? { address },
      );
      clients.set(address, client);
    }
    return client;
  };
  let address = options.coordinatorAddress;
  const stopping = new AbortController();
  let status: SessionStatus = {
    state: "connecting",
    sessionId: "",
    changedAt: new Date(),
    assignmentGeneration: "0",
  };
  const setState = (state: SessionState, sessionId = status.sessionId) => {
    if (state !== status.state) status = { ...status, state, sessionId, changedAt: new Date() };
  };

  let current: ReturnType<typeof createRequestQueue<AgentMessage>> | undefined;

  async function runOnce(): Promise<boolean> {
    const outbox = createRequestQueue<AgentMessage>();
    let heartbeat: NodeJS.Timeout | undefined;
    let welcomed = false;
    outbox.push({ message: { case: "hello", value: options.hello() } });
    try {
      const responses = clientFor(address).connect(outbox.iterable, {
        timeoutMs: options.sessionDeadlineMs ?? 3_600_000,
        signal: stopping.signal,
      });
      let sequence = 0n;
      for await (const response of responses) {
        const message = response.message;
        if (message.case === "welcome") {
          welcomed = true;
          current = outbox;
          setState("connected", message.value.sessionId);
          const interval = message.value.heartbeatInterval;
          const everyMs = Math.max(200, interval === undefined ? 1000 : durationMs(interval));
          heartbeat = setInterval(() => {
            sequence += 1n;
            outbox.push({
              message: {
                case: "heartbeat",
                value: { sequence: String(sequence), sendTime: timestampNow() },
              },
            });
          }, everyMs);
          logger.info({ session: message.value.sessionId, heartbeatMs: everyMs }, "session open");
        } else if (message.case === "assignment") {
          status = { ...status, assignmentGeneration: message.value.generation };
          logger.info(
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
      const geo = GeoError.from(error);
      const leaderAddress = geo.details?.leaderAddress;
      const next =
        typeof leaderAddress === "string" && leaderAddress !== "" && !welcomed
          ? leaderAddress
          : options.coordinatorAddress;
      if (!stopping.signal.aborted) {
        logger.warn(
          { code: geo.codeName, err: geo.message, coordinator: address, next },
          "coordinator session lost; reconnecting",
        );
      }
      // Straight to a named leader; the backoff is for a coordinator that is away.
      const redirected = next !== address && next !== options.coordinatorAddress;
      address = next;
      return welcomed || redirected;
    } finally {
      clearInterval(heartbeat);
      if (current === outbox) current = undefined;
      outbox.end();
      setState(stopping.signal.aborted ? "disconnected" : "connecting", "");
    }
  }

  const loop = (async () => {
    const minBackoffMs = options.minBackoffMs ?? 200;
    const maxBackoffMs = options.maxBackoffMs ?? 10_000;
    let backoffMs = minBackoffMs;
    while (!stopping.signal.aborted) {
      const welcomed = await runOnce();
      if (welcomed) backoffMs = minBackoffMs;
      else backoffMs = Math.min(maxBackoffMs, backoffMs * 2);
      // Jitter keeps a region's agents from reconnecting in lockstep after a coordinator restart.
      await sleep(backoffMs * (0.5 + Math.random() / 2), stopping.signal);
    }
  })();

  return {
    status: () => status,
    send: (message) => {
      if (current === undefined) return false;
      current.push(message);
      return true;
    },
    stop: async () => {
      stopping.abort();
      await loop;
      setState("disconnected", "");
      for (const client of clients.values()) client.close();
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
