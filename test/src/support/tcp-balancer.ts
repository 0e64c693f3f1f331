// One address in front of several coordinators, as a Kubernetes Service gives agents: each new TCP
// connection goes to the next backend that accepts it, round robin, with no notion of a leader.
import { connect, createServer, type Socket } from "node:net";

export interface TcpBalancer {
  /** `127.0.0.1:<port>` */
  readonly address: string;
  close(): Promise<void>;
}

export async function startTcpBalancer(backends: () => readonly string[]): Promise<TcpBalancer> {
  const sockets = new Set<Socket>();
  let turn = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    track(client);
    client.pause();
    const list = backends();
    const tryFrom = (attempt: number) => {
      if (attempt >= list.length || client.destroyed) {
        client.destroy();
        return;
      }
      const [host, port] = splitAddress(list[turn++ % list.length]!);
      const upstream = connect({ host, port });
      track(upstream);
      let connected = false;
      upstream.on("error", () => {
        if (connected) client.destroy();
        else tryFrom(attempt + 1);
      });
      upstream.once("connect", () => {
        connected = true;
        client.on("error", () => upstream.destroy());
        upstream.once("close", () => client.destroy());
        client.once("close", () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryFrom(0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(":");
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}
