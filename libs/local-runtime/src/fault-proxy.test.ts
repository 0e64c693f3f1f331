import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { test } from "node:test";
import { startFaultProxy } from "./fault-proxy";

async function echoServer() {
  const server = createServer((socket) => socket.pipe(socket));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, address: `127.0.0.1:${(server.address() as { port: number }).port}` };
}

async function roundTrip(port: number, text: string): Promise<{ echoed: string; ms: number }> {
  const socket: Socket = connect({ host: "127.0.0.1", port });
  try {
    const answer = new Promise<Buffer>((resolve, reject) => {
      socket.once("data", resolve);
      socket.once("error", reject);
      socket.once("close", () => reject(new Error("closed without an answer")));
    });
    await once(socket, "connect");
    const started = Date.now();
    socket.write(text);
    const data = await answer;
    return { echoed: data.toString(), ms: Date.now() - started };
  } finally {
    socket.destroy();
  }
}

test("the fault proxy passes bytes, delays them both ways, and cuts and restores the path", async () => {
  const { server, address } = await echoServer();
  const proxy = await startFaultProxy(address);
  try {
    assert.equal((await roundTrip(proxy.port, "a")).echoed, "a");
    proxy.delay(100);
    const delayed = await roundTrip(proxy.port, "b");
    assert.equal(delayed.echoed, "b");
    assert.ok(delayed.ms >= 190, `100 ms each way: ${delayed.ms} ms`);
    const open = connect({ host: "127.0.0.1", port: proxy.port });
    await once(open, "connect");
    proxy.cut();
    await once(open, "close");
    await assert.rejects(roundTrip(proxy.port, "c"));
    proxy.restore();
    assert.equal((await roundTrip(proxy.port, "d")).echoed, "d");
  } finally {
    await proxy.close();
    server.close();
  }
});
