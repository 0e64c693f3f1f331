import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  AgentSessionService,
  type agentV1,
  CoordinatorService,
  type healthV1,
  ReplicationHealthService,
} from "@geo/proto";
import { resolveActor } from "./actor.js";
import { Code } from "./code.js";
import { GeoError } from "./geo-error.js";
import { clientFor, createQueue, startServer, waitFor } from "./test-support.js";
import { requireNonEmpty } from "./validate.js";

type AgentMessageInit = MessageInitShape<typeof agentV1.AgentMessageSchema>;

async function rejection(promise: Promise<unknown>): Promise<GeoError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof GeoError, `expected a GeoError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe("unary calls", () => {
  test("round trip keeps int64 9007199254740993 exact and carries metadata", async (t) => {
    let seenVersion: unknown;
    let seenActor: string | undefined;
    const { server, address } = await startServer((s) =>
      s.addService(CoordinatorService, {
        updateFlow(request, context) {
          seenVersion = request.expectedVersion;
          seenActor = resolveActor(request.actor, context);
          const { name, sourceCluster } = request.flow ?? {};
          return { flow: { name, sourceCluster, version: request.expectedVersion } };
        },
      }),
    );
    const client = clientFor(CoordinatorService, address);
    t.after(async () => {
      client.close();
      await server.stop();
    });

    const response = await client.updateFlow(
      { flow: { name: "orders", sourceCluster: "us-east" }, expectedVersion: "9007199254740993" },
      { metadata: { "x-geo-actor": "cli:alice" } },
    );

    assert.equal(seenVersion, "9007199254740993");
    assert.equal(response.flow?.version, "9007199254740993");
    assert.equal(response.flow?.name, "orders");
    assert.equal(response.flow?.sourceCluster, "us-east");
    assert.equal(seenActor, "cli:alice");
  });

  test("the actor comes from the field, else the metadata, else the peer", async (t) => {
    const actors: string[] = [];
    const { server, address } = await startServer((s) =>
      s.addService(CoordinatorService, {
        pauseFlow(request, context) {
          actors.push(resolveActor(request.actor, context));
          return {};
        },
      }),
    );
    const client = clientFor(CoordinatorService, address);
    t.after(async () => {
      client.close();
      await server.stop();
    });

    await client.pauseFlow({ name: "f", actor: "ops:bob" }, { metadata: { "x-geo-actor": "x" } });
    await client.pauseFlow({ name: "f" }, { metadata: { "x-geo-actor": "cli:alice" } });
    await client.pauseFlow({ name: "f" });

    assert.equal(actors[0], "ops:bob");
    assert.equal(actors[1], "cli:alice");
    assert.match(actors[2] ?? "", /^peer:.*127\.0\.0\.1:\d+$/);
  });

  test("a handler's INVALID_ARGUMENT reaches the client with code, message and field", async (t) => {
    const { server, address } = await startServer((s) =>
      s.addService(CoordinatorService, {
        getFlow(request) {
          requireNonEmpty(request.name, "name");
          return {};
        },
      }),
    );
    const client = clientFor(CoordinatorService, address);
    t.after(async () => {
      client.close();
      await server.stop();
    });

    const error = await rejection(client.getFlow({ name: "" }));

    assert.equal(error.code, Code.INVALID_ARGUMENT);
    assert.equal(error.message, "name: is required");
    assert.equal(error.retriable, false);
    assert.deepEqual(error.details, { field: "name" });
  });

  test("a method left out answers UNIMPLEMENTED naming it", async (t) => {
    const { server, address } = await startServer((s) => s.addService(CoordinatorService, {}));
    const client = clientFor(CoordinatorService, address);
    t.after(async () => {
      client.close();
      await server.stop();
    });

    const error = await rejection(client.listClusters({}));

    assert.equal(error.code, Code.UNIMPLEMENTED);
    assert.match(error.message, /geo\.coordinator\.v1\.CoordinatorService\/ListClusters/);
    assert.match(error.message, /later release/);
  });

  test("an unexpected exception becomes INTERNAL without its stack", async (t) => {
    const { server, address } = await startServer((s) =>
      s.addService(CoordinatorService, {
        listAgents() {
          throw new TypeError("boom");
        },
      }),
    );
    const client = clientFor(CoordinatorService, address);
    t.after(async () => {
      client.close();
      await server.stop();
    });

    const error = await rejection(client.listAgents({}));

    assert.equal(error.code, Code.INTERNAL);
    assert.equal(error.message, "internal error: boom");
    assert.doesNotMatch(error.message, /\bat /);
  });

  test("a call past its deadline fails DEADLINE_EXCEEDED and aborts the handler", async (t) => {
    let handlerSignal: AbortSignal | undefined;
    const { server, address } = await startServer((s) =>
      s.addService(CoordinatorService, {
        getFlow(_request, context) {
          handlerSignal = context.signal;
          assert.ok(context.deadline instanceof Date);
          return new Promise((_resolve, reject) =>
            context.signal.addEventListener("abort", () => reject(context.signal.reason)),
          );
        },
      }),
    );
    const client = clientFor(CoordinatorService, address);
    t.after(async () => {
      client.close();
      await server.stop();
    });

    const started = Date.now();
    const error = await rejection(client.getFlow({ name: "slow" }, { timeoutMs: 200 }));

    assert.equal(error.code, Code.DEADLINE_EXCEEDED);
    assert.equal(error.retriable, true);
    assert.ok(Date.now() - started < 3000);
    await waitFor("the handler's signal to abort", () => handlerSignal?.aborted === true);
    assert.equal((handlerSignal?.reason as GeoError | undefined)?.code, Code.DEADLINE_EXCEEDED);
  });

  test("aborting the caller's signal cancels the call", async (t) => {
    const { server, address } = await startServer((s) =>
      s.addService(CoordinatorService, {
        getFlow: (_request, context) =>
          new Promise((_resolve, reject) =>
            context.signal.addEventListener("abort", () => reject(context.signal.reason)),
          ),
      }),
    );
    const client = clientFor(CoordinatorService, address);
    t.after(async () => {
      client.close();
      await server.stop();
    });

    const controller = new AbortController();
    const call = client.getFlow({ name: "x" }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await rejection(call);

    assert.equal(error.code, Code.CANCELLED);
  });

  test("stop waits for an in-flight unary call within the grace period", async (t) => {
    let release: (() => void) | undefined;
    const { server, address } = await startServer((s) =>
      s.addService(CoordinatorService, {
        async getFlow(request) {
          await new Promise<void>((resolve) => (release = resolve));
          return { flow: { name: request.name } };
        },
      }),
    );
    const client = clientFor(CoordinatorService, address);
    t.after(() => client.close());

    const call = client.getFlow({ name: "in-flight" });
    await waitFor("the handler to start", () => release !== undefined);
    const stopped = server.stop({ graceMs: 5000 });
    setTimeout(() => release?.(), 100);

    assert.equal((await call).flow?.name, "in-flight");
    await stopped;
    assert.equal(server.health.status(), "NOT_SERVING");
  });

  test("stop cuts a unary call that outlives the grace period", async (t) => {
    let handlerSignal: AbortSignal | undefined;
    const { server, address } = await startServer((s) =>
      s.addService(CoordinatorService, {
        getFlow(_request, context) {
          handlerSignal = context.signal;
          return new Promise(() => {});
        },
      }),
    );
    const client = clientFor(CoordinatorService, address);
    t.after(() => client.close());

    const call = rejection(client.getFlow({ name: "stuck" }));
    await waitFor("the handler to start", () => handlerSignal !== undefined);
    const started = Date.now();
    await server.stop({ graceMs: 200 });

    assert.ok(Date.now() - started < 2000, "stop took longer than grace plus margin");
    assert.equal((handlerSignal?.reason as GeoError | undefined)?.code, Code.UNAVAILABLE);
    await call;
  });
});

describe("streaming calls", () => {
  test("server streaming delivers every message in order, then ends", async (t) => {
    const { server, address } = await startServer((s) =>
      s.addService(ReplicationHealthService, {
        async *watchRegionState(request) {
          for (const [index, flowGroup] of request.flowGroups.entries()) {
            yield {
              state: { flowGroup, activeRegion: "us-east", epoch: `900719925474099${index}` },
              initial: true,
            };
          }
        },
      }),
    );
    const client = clientFor(ReplicationHealthService, address);
    t.after(async () => {
      client.close();
      await server.stop();
    });

    const messages = await collect(client.watchRegionState({ flowGroups: ["a", "b", "c"] }));

    assert.deepEqual(
      messages.map((message) => [message.state?.flowGroup, message.state?.epoch, message.initial]),
      [
        ["a", "9007199254740990", true],
        ["b", "9007199254740991", true],
        ["c", "9007199254740992", true],
      ],
    );
  });

  test("a consumer that stops reading cancels the server stream", async (t) => {
    let handlerSignal: AbortSignal | undefined;
    const { server, address } = await startServer((s) =>
      s.addService(ReplicationHealthService, {
        async *watchRegionState(_request, context) {
          handlerSignal = context.signal;
          for (let epoch = 1; !context.signal.aborted; epoch++) {
            yield { state: { flowGroup: "g", epoch: String(epoch) } };
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        },
      }),
    );
    const client = clientFor(ReplicationHealthService, address);
    t.after(async () => {
      client.close();
      await server.stop();
    });

    let received = 0;
    for await (const _message of client.watchRegionState({})) {
      received += 1;
      if (received === 3) break;
    }

    await waitFor("the handler's signal to abort", () => handlerSignal?.aborted === true);
    assert.equal((handlerSignal?.reason as GeoError | undefined)?.code, Code.CANCELLED);
  });

  test("a streaming handler's error reaches the client after the messages sent", async (t) => {
    const { server, address } = await startServer((s) =>
      s.addService(ReplicationHealthService, {
        async *watchRegionState() {
          yield { state: { flowGroup: "g" } };
          throw new GeoError(Code.FAILED_PRECONDITION, "flow group g is being deleted");
        },
      }),
    );
    const client = clientFor(ReplicationHealthService, address);
    t.after(async () => {
      client.close();
      await server.stop();
    });

    const received: healthV1.WatchRegionStateResponse[] = [];
    const error = await rejection(
      (async () => {
        for await (const message of client.watchRegionState({})) received.push(message);
      })(),
    );

    assert.equal(received.length, 1);
    assert.equal(error.code, Code.FAILED_PRECONDITION);
    assert.equal(error.message, "flow group g is being deleted");
  });

  test("bidi streaming: the agent session exchanges messages both ways", async (t) => {
    const { server, address } = await startServer((s) =>
      s.addService(AgentSessionService, {
        async *connect(requests) {
          for await (const message of requests) {
            switch (message.message.case) {
              case "hello":
                yield {
                  message: {
                    case: "welcome",
                    value: { sessionId: `session-of-${message.message.value.agentId}` },
                  },
                };
                break;
              case "heartbeat":
                yield {
                  message: {
                    case: "revoke",
                    value: { epoch: message.message.value.sequence, reason: "echo" },
                  },
                };
                break;
            }
          }
        },
      }),
    );
    const client = clientFor(AgentSessionService, address);
    t.after(async () => {
      client.close();
      await server.stop();
    });

    const requests = createQueue<AgentMessageInit>();
    const responses: agentV1.CoordinatorMessage[] = [];
    const session = client.connect(requests.iterable);
    requests.push({ message: { case: "hello", value: { agentId: "agent-1", region: "eu-west" } } });
    const reader = (async () => {
      for await (const message of session) {
        responses.push(message);
        if (message.message.case === "welcome") {
          requests.push({
            message: { case: "heartbeat", value: { sequence: "9007199254740993" } },
          });
          requests.push({ message: { case: "heartbeat", value: { sequence: "2" } } });
          requests.end();
        }
      }
    })();
    await reader;

    assert.deepEqual(
      responses.map((response) => [response.message.case, response.message.value]),
      [
        ["welcome", responses[0]?.message.value],
        ["revoke", responses[1]?.message.value],
        ["revoke", responses[2]?.message.value],
      ],
    );
    const [welcome, first, second] = responses.map((response) => response.message);
    assert.equal(welcome?.case === "welcome" && welcome.value.sessionId, "session-of-agent-1");
    assert.equal(first?.case === "revoke" && first.value.epoch, "9007199254740993");
    assert.equal(second?.case === "revoke" && second.value.epoch, "2");
  });

  test("stop during a bidi stream ends it at once with UNAVAILABLE, retriable", async (t) => {
    let handlerSignal: AbortSignal | undefined;
    const { server, address } = await startServer((s) =>
      s.addService(AgentSessionService, {
        async *connect(requests, context) {
          handlerSignal = context.signal;
          // Deliberately ignores the signal: the server must end the stream regardless.
          for await (const message of requests) {
            if (message.message.case === "hello") {
              yield { message: { case: "welcome", value: { sessionId: "s1" } } };
            }
          }
        },
      }),
    );
    const client = clientFor(AgentSessionService, address, 60_000);
    t.after(() => client.close());

    const requests = createQueue<AgentMessageInit>();
    requests.push({ message: { case: "hello", value: { agentId: "agent-1" } } });
    let welcomed = false;
    const session = (async () => {
      for await (const message of client.connect(requests.iterable)) {
        if (message.message.case === "welcome") welcomed = true;
      }
    })();
    await waitFor("the welcome", () => welcomed);

    const started = Date.now();
    const stopped = server.stop({ graceMs: 10_000 });
    const error = await rejection(session);
    const streamEndedMs = Date.now() - started;
    await stopped;
    const stopMs = Date.now() - started;
    requests.end();

    assert.equal(error.code, Code.UNAVAILABLE);
    assert.equal(error.message, "server shutting down, reconnect");
    assert.equal(error.retriable, true);
    assert.ok(streamEndedMs < 1000, `stream took ${streamEndedMs} ms to end`);
    assert.ok(stopMs < 2000, `stop took ${stopMs} ms`);
    assert.equal((handlerSignal?.reason as GeoError | undefined)?.code, Code.UNAVAILABLE);

    const after = await rejection(client.connect(requests.iterable)[Symbol.asyncIterator]().next());
    assert.equal(after.code, Code.UNAVAILABLE);
  });
});
