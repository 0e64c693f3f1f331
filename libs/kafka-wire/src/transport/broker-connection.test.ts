import assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import { after, test } from "node:test";
import { ConnectionError, RequestTimeoutError, UnsupportedVersionError } from "../kafka-wire-error";
import type { WireRequest } from "../wire-transport";
import { BrokerConnection } from "./broker-connection";
import { FrameReader } from "./frame-reader";

const ECHO_KEY = 3; // any key the fake broker lists in ApiVersions

interface Received {
  apiKey: number;
  version: number;
  clientId: string;
  body: Buffer;
  reply(payload: Buffer): void;
}

/** A broker that answers ApiVersions itself and hands every other request to `handle`. */
async function fakeBroker(handle: (req: Received, socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const frames = new FrameReader(
      (frame) => {
        const apiKey = frame.readInt16BE(0);
        const version = frame.readInt16BE(2);
        const correlationId = frame.readInt32BE(4);
        const idLength = frame.readInt16BE(8);
        const reply = (payload: Buffer) => {
          const head = Buffer.alloc(8);
          head.writeInt32BE(4 + payload.length, 0);
          head.writeInt32BE(correlationId, 4);
          socket.write(Buffer.concat([head, payload]));
        };
        const clientId = frame.toString("utf8", 10, 10 + idLength);
        const body = frame.subarray(10 + idLength);
        if (apiKey === 18) {
          // ApiVersions v2: no error, [ApiVersions 0-3, echo 0-5], throttle 0.
          const b = Buffer.alloc(2 + 4 + 12 + 4);
          b.writeInt32BE(2, 2);
          b.writeInt16BE(18, 6);
          b.writeInt16BE(3, 10);
          b.writeInt16BE(ECHO_KEY, 12);
          b.writeInt16BE(5, 16);
          reply(b);
          return;
        }
        handle({ apiKey, version, clientId, body, reply }, socket);
      },
      () => socket.destroy(),
    );
    socket.on("data", (chunk) => frames.push(chunk));
    socket.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    stop: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

function connect(port: number, maxInFlightRequests = 32) {
  return new BrokerConnection({
    host: "127.0.0.1",
    port,
    clientId: "unit",
    ssl: null,
    sasl: null,
    connectionTimeoutMs: 2000,
    authenticationTimeoutMs: 2000,
    reauthenticationThresholdMs: 1000,
    maxInFlightRequests,
  });
}

function echo(n: number, extra: Partial<WireRequest<number>> = {}): WireRequest<number> {
  return {
    apiKey: ECHO_KEY,
    apiName: "Echo",
    minVersion: 0,
    maxVersion: 9,
    encode: () => Buffer.from([n]),
    decode: (_, payload) => payload[0]!,
    ...extra,
  };
}

const cleanup: (() => void)[] = [];
after(() => {
  for (const c of cleanup) c();
});

test("requests are written in call order, at most maxInFlight unanswered, answers matched", async () => {
  const order: number[] = [];
  let outstanding = 0;
  let most = 0;
  const broker = await fakeBroker((req) => {
    order.push(req.body[0]!);
    assert.equal(req.version, 5, "the highest version both sides speak");
    assert.equal(req.clientId, "unit");
    outstanding += 1;
    most = Math.max(most, outstanding);
    setTimeout(() => {
      outstanding -= 1;
      req.reply(Buffer.from([req.body[0]! * 2]));
    }, 5);
  });
  cleanup.push(broker.stop);
  const connection = connect(broker.port, 3);
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => connection.request(echo(i), 5000)),
  );
  assert.deepEqual(
    results,
    Array.from({ length: 20 }, (_, i) => i * 2),
  );
  assert.deepEqual(
    order,
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.ok(most <= 3 && most >= 2, `at most 3 in flight, saw ${most}`);
  await connection.close();
  assert.equal(connection.closed, true);
});

test("a request without an answer times out (retriable); the connection goes on", async () => {
  const broker = await fakeBroker((req) => {
    if (req.body[0] !== 1) req.reply(Buffer.from([req.body[0]!]));
  });
  cleanup.push(broker.stop);
  const connection = connect(broker.port);
  const error = await connection.request(echo(1, { timeoutMs: 100 }), 5000).catch((e) => e);
  assert.ok(error instanceof RequestTimeoutError, String(error));
  assert.equal(error.retriable, true);
  assert.equal(await connection.request(echo(2), 5000), 2);
  await connection.close();
});

test("a dropped connection fails what is in flight as retriable; versions are checked", async () => {
  const broker = await fakeBroker((req, socket) => {
    if (req.body[0] === 9) socket.destroy();
    else req.reply(Buffer.from([req.body[0]!]));
  });
  cleanup.push(broker.stop);
  const connection = connect(broker.port);
  const unsupported = await connection
    .request(echo(1, { minVersion: 6, maxVersion: 8 }), 5000)
    .catch((e) => e);
  assert.ok(unsupported instanceof UnsupportedVersionError, String(unsupported));
  assert.equal(unsupported.retriable, false);
  const dropped = await connection.request(echo(9), 5000).catch((e) => e);
  assert.ok(dropped instanceof ConnectionError, String(dropped));
  assert.equal(dropped.retriable, true);
  assert.equal(connection.closed, true);
});

test("a refused connection is a retriable ConnectionError", async () => {
  const broker = await fakeBroker(() => {});
  broker.stop();
  const connection = connect(broker.port);
  const error = await connection.request(echo(1), 5000).catch((e) => e);
  assert.ok(error instanceof ConnectionError, String(error));
  assert.equal(error.retriable, true);
});

test("a throttled answer holds the next request back for throttle_time_ms", async () => {
  const written: number[] = [];
  const broker = await fakeBroker((req) => {
    written.push(performance.now());
    req.reply(Buffer.from([req.body[0]!]));
  });
  cleanup.push(broker.stop);
  const connection = connect(broker.port);
  await connection.request(echo(1, { throttleTimeMs: () => 200 }), 5000);
  await connection.request(echo(2), 5000);
  assert.ok(written[1]! - written[0]! >= 190, `${written[1]! - written[0]!} ms apart`);
  await connection.close();
});

test("frames split anywhere, or several in one chunk, come out whole", () => {
  const frames: string[] = [];
  const reader = new FrameReader(
    (f) => frames.push(f.toString()),
    (e) => assert.fail(e),
  );
  const frame = (s: string) => {
    const b = Buffer.alloc(4 + s.length);
    b.writeInt32BE(s.length, 0);
    b.write(s, 4);
    return b;
  };
  const stream = Buffer.concat([frame("alpha"), frame(""), frame("bravo-charlie"), frame("d")]);
  for (const b of stream) reader.push(Buffer.from([b]));
  reader.push(stream);
  assert.deepEqual(frames, ["alpha", "", "bravo-charlie", "d", "alpha", "", "bravo-charlie", "d"]);
  let failed = false;
  const bad = new FrameReader(
    () => {},
    () => {
      failed = true;
    },
  );
  bad.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  assert.ok(failed, "a negative size is refused");
});
