import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface MetricsServerOptions {
  /** `host:port` to listen on; port 0 picks a free port. */
  listen: string;
  registry: Registry;
}

export interface MetricsServer {
  /** The port actually bound (useful when `listen` asked for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `GET /metrics` in the Prometheus text format; every other path is 404. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { host, port } = splitListen(options.listen);
  const server: Server = createServer((request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
      response
        .writeHead(404, { "content-type": "text/plain" })
        .end("only GET /metrics is served\n");
      return;
    }
    options.registry.metrics().then(
      (body) => response.writeHead(200, { "content-type": options.registry.contentType }).end(body),
      (error: unknown) =>
        response.writeHead(500, { "content-type": "text/plain" }).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function splitListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(":");
  const port = Number(listen.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(
      `metrics listen address "${listen}" is not host:port (for example 0.0.0.0:9464)`,
    );
  }
  return { host: listen.slice(0, at).replace(/^\[|\]$/g, ""), port };
}
