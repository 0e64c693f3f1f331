import { type AuthorizationDecision, createGrpcServer, type GrpcServer } from "@geo/grpc";
import { createMetricsRegistry, type Registry, startMetricsServer } from "@geo/metrics";
import type { ServiceContext } from "./boot-service";
import type { DependencyProbe } from "./dependency-probes";
import { grpcServerSecurity } from "./grpc-security";

export interface ServeServiceOptions {
  context: ServiceContext;
  /** gRPC `host:port`; port 0 picks a free port. */
  listen: string;
  /** Prometheus `host:port`; port 0 picks a free port. */
  metricsListen: string;
  /** The service is SERVING only while every probe answers. */
  probes: readonly DependencyProbe[];
  /** How often the probes run; a lost dependency shows as NOT_SERVING within this interval. */
  probeIntervalMs?: number;
  /** Registers the service's own gRPC services and metrics. */
  register(server: GrpcServer, metrics: Registry): void;
  /** Every authorization decision on a method that changes something (with grpc.auth set). */
  onAuthorizationDecision?: (decision: AuthorizationDecision) => void;
  /** Runs after the gRPC server stopped (streams ended, unary calls drained): close clients. */
  close(): Promise<void>;
}

export interface ServedService {
  readonly server: GrpcServer;
  readonly metrics: Registry;
  readonly endpoints: { grpc: string; metrics: string };
  stop(): Promise<void>;
}

/**
 * Starts a service's gRPC server (with grpc.health.v1 fed by the dependency probes, and server
 * reflection) and its Prometheus endpoint. Stopping ends open streams with a retriable
 * UNAVAILABLE, lets unary calls finish, then closes the service's clients.
 */
export async function serveService(options: ServeServiceOptions): Promise<ServedService> {
  const { context } = options;
  const metrics = createMetricsRegistry(context.service);
  const server = createGrpcServer({
    logger: context.logger,
    health: { probes: options.probes, intervalMs: options.probeIntervalMs ?? 2000 },
    ...grpcServerSecurity(context.config, context.logger, options.onAuthorizationDecision),
  });
  options.register(server, metrics);
  const port = await server.listen(options.listen);
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>>;
  try {
    metricsServer = await startMetricsServer({ listen: options.metricsListen, registry: metrics });
  } catch (error) {
    await server.stop({ graceMs: 0 });
    throw error;
  }
  const host = (listen: string) => listen.slice(0, listen.lastIndexOf(":"));
  return {
    server,
    metrics,
    endpoints: {
      grpc: `${host(options.listen)}:${port}`,
      metrics: `${host(options.metricsListen)}:${metricsServer.port}`,
    },
    stop: async () => {
      await server.stop({ graceMs: 5000 });
      await metricsServer.close();
      await options.close();
    },
  };
}
