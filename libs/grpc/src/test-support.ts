// Helpers shared by this package's tests; not exported from the package.
import type { DescService } from "@bufbuild/protobuf";
import { createGrpcClient, type GrpcClient } from "./grpc-client.js";
import { createGrpcServer, type GrpcServer, type GrpcServerOptions } from "./grpc-server.js";

/** A server on 127.0.0.1 with a free port, stopped by `close`. */
export async function startServer(
  setup: (server: GrpcServer) => void,
  options: GrpcServerOptions = {},
): Promise<{ server: GrpcServer; address: string; port: number }> {
  const server = createGrpcServer(options);
  setup(server);
  const port = await server.listen("127.0.0.1:0");
  return { server, address: `127.0.0.1:${port}`, port };
}

/** A client with a short default deadline, so a broken test fails instead of hanging. */
export function clientFor<S extends DescService>(
  service: S,
  address: string,
  defaultTimeoutMs = 5000,
): GrpcClient<S> {
  return createGrpcClient(service, { address, defaultTimeoutMs });
}

/** Polls `condition` until it holds, failing with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export { createRequestQueue as createQueue } from "./request-queue.js";
