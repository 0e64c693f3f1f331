// A loopback TCP proxy between a client and a server for fault tests: it passes bytes through,
// delays them, or cuts the path (open connections dropped, new ones refused until restored).
import { connect, createServer, type Server, type Socket } from "node:net";

export interface FaultProxy {
  /** `127.0.0.1:port` clients connect to. */
  readonly address: string;
  readonly port: number;
  /** Drop every open connection and refuse new ones until restore(). */
  cut(): void;
  /** Hold every chunk this long in each direction (0: none). */
  delay(ms: number): void;
  /** Back to passing bytes through at once. */
  restore(): void;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 (`port`, or a free one) and forwards each connection to `target`
 * (`host:port`).
 */
export async function startFaultProxy(target: string, port = 0): Promise<FaultProxy> {
  const [host, targetPort] = splitAddress(target);
  const sockets = new Set<Socket>();
  let cutOff = false;
  let delayMs = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  // Chunks keep their order: each waits for the previous one's release time.
  const pipe = (from: Socket, to: Socket) => {
    let releaseAt = 0;
    from.on("data", (chunk: Buffer) => {
      if (delayMs === 0 && releaseAt <= Date.now()) {
        to.write(chunk);
        return;
      }
      releaseAt = Math.max(releaseAt, Date.now() + delayMs);
      setTimeout(() => to.destroyed || to.write(chunk), releaseAt - Date.now());
    });
    from.on("error", () => to.destroy());
    from.once("close", () => to.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (cutOff) {
      client.destroy();
      return;
    }
    const upstream = connect({ host, port: targetPort });
    track(upstream);
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${bound}`,
    port: bound,
    cut() {
      cutOff = true;
      for (const socket of sockets) socket.destroy();
    },
    delay(ms) {
      delayMs = Math.max(0, ms);
    },
    restore() {
      cutOff = false;
      delayMs = 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(":");
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0) {
    throw new RangeError(`fault proxy target must be host:port, got "${address}"`);
  }
  return [address.slice(0, colon), port];
}
