// The gRPC server for generated protobuf-es services, with health and reflection built in.
// Its parts: server-handlers (a service's methods as grpc-js handlers), server-call-context (a
// call as its handler sees it, tracked for shutdown), server-deadline (deadlines enforced).
import type { DescFile, DescService } from "@bufbuild/protobuf";
import { Health, protoFiles, ServerReflection, ServerReflectionV1alpha } from "@geo/proto";
import { type ChannelOptions, Server, ServerCredentials } from "@grpc/grpc-js";
import { Code } from "./code.js";
import { GeoError } from "./geo-error.js";
import {
  createHealthMonitor,
  type HealthMonitor,
  type HealthOptions,
  type ServerHealthMonitor,
} from "./health-monitor.js";
import { createHealthServiceImpl } from "./health-service.js";
import { type GrpcLogger, silentLogger } from "./logger.js";
import type { ActiveCall } from "./server-call-context.js";
import { type HandlerEnvironment, serviceHandlers } from "./server-handlers.js";
import { createReflectionImpls } from "./server-reflection.js";
import { createServiceDefinition } from "./service-definition.js";
import type { HandlerContext, ServiceImpl } from "./service-impl.js";

/** Options of {@link createGrpcServer}. */
export interface GrpcServerOptions {
  /** Dependency probes and their timing for `grpc.health.v1.Health`. */
  health?: HealthOptions;
  /** Serve server reflection (v1 and v1alpha); default true. */
  reflection?: boolean;
  /** Files reflection describes; default every file of `@geo/proto` (`protoFiles()`). */
  descriptorFiles?: readonly DescFile[];
  /** Transport security; default insecure (plaintext HTTP/2). */
  credentials?: ServerCredentials;
  /** grpc-js server options, over keepalive defaults (ping every 30 s, 10 s to answer). */
  channelOptions?: ChannelOptions;
  /** pino-compatible logger; default silent. */
  logger?: GrpcLogger;
  /**
   * Largest request message accepted, in bytes (default 4 MiB); a larger one is refused with
   * RESOURCE_EXHAUSTED before it is decoded.
   */
  maxReceiveMessageBytes?: number;
  /**
   * Longest a unary or client-streaming call may run (default 300000): calls without a deadline
   * get this one, and a handler still busy at its deadline is answered DEADLINE_EXCEEDED at once
   * (its signal aborts), so a slow handler cannot hold a caller or a connection.
   */
  maxUnaryCallMs?: number;
  /**
   * Wraps every handler (authorization, auditing): called before the handler with the call's
   * context; throw a GeoError to refuse the call. Runs for health and reflection too.
   */
  beforeCall?: (context: HandlerContext, request?: unknown) => void | Promise<void>;
}

/** Default of {@link GrpcServerOptions.maxReceiveMessageBytes}. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Default of {@link GrpcServerOptions.maxUnaryCallMs}. */
export const DEFAULT_MAX_UNARY_CALL_MS = 300_000;

/** Options of {@link GrpcServer.stop}. */
export interface StopOptions {
  /** How long in-flight unary calls may take to finish before they are cut (default 5000). */
  graceMs?: number;
}

/** A gRPC server for generated protobuf-es services. */
export interface GrpcServer {
  /**
   * Serves `impl` for `service`. Methods left out answer UNIMPLEMENTED. The service becomes
   * known to health (by its full name) and to reflection's service list.
   */
  addService<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>): void;
  /** Binds `host:port` (port 0 picks a free one), starts health probes, returns the port. */
  listen(address: string): Promise<number>;
  /**
   * Stops accepting calls, marks every service NOT_SERVING, ends streaming calls at once with
   * UNAVAILABLE "server shutting down, reconnect" (their handlers' signals abort), waits up to
   * `graceMs` for unary calls, then cuts what remains. Calling it again returns the same promise.
   */
  stop(options?: StopOptions): Promise<void>;
  /** Serving status per service and overall. */
  readonly health: HealthMonitor;
  /** The port bound by the last `listen`, if any. */
  readonly port: number | undefined;
}

const serverChannelDefaults: ChannelOptions = {
  // Detects clients that vanished without closing (agent host lost), so their sessions end.
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
};

/** Why a call ended early, as its handler's signal reason. */
function shuttingDown(): GeoError {
  return new GeoError(Code.UNAVAILABLE, "server shutting down, reconnect", { retriable: true });
}

/** Creates a server; add services, then `listen`. */
export function createGrpcServer(options: GrpcServerOptions = {}): GrpcServer {
  const logger = options.logger ?? silentLogger;
  const maxReceive = options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES;
  const server = new Server({
    ...serverChannelDefaults,
    "grpc.max_receive_message_length": maxReceive,
    ...options.channelOptions,
  });
  const monitor = createHealthMonitor(options.health ?? {}, logger);
  const serviceNames = new Set<string>();
  const env: HandlerEnvironment = {
    logger,
    activeCalls: new Set<ActiveCall>(),
    maxUnaryCallMs: options.maxUnaryCallMs ?? DEFAULT_MAX_UNARY_CALL_MS,
    beforeCall: options.beforeCall,
  };
  let port: number | undefined;
  let stopping: Promise<void> | undefined;

  function addService<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>): void {
    server.addService(createServiceDefinition(service), serviceHandlers(env, service, impl));
    serviceNames.add(service.typeName);
    monitor.addService(service.typeName);
  }

  addService(Health, createHealthServiceImpl(monitor));
  if (options.reflection ?? true) addReflection(addService, options.descriptorFiles, serviceNames);

  return {
    addService,

    listen(address) {
      if (stopping !== undefined) return Promise.reject(new Error("server is stopped"));
      const credentials = options.credentials ?? ServerCredentials.createInsecure();
      return new Promise<number>((resolve, reject) => {
        server.bindAsync(address, credentials, (error, boundPort) => {
          if (error !== null) {
            reject(error);
            return;
          }
          port = boundPort;
          monitor.start();
          logger.info({ address, port: boundPort, services: [...serviceNames] }, "gRPC listening");
          resolve(boundPort);
        });
      });
    },

    stop(stopOptions = {}) {
      stopping ??= stopServer(server, monitor, env, stopOptions.graceMs ?? 5000);
      return stopping;
    },

    health: monitor,

    get port() {
      return port;
    },
  };
}

/** Server reflection (v1 and v1alpha) of `files` (default every file of `@geo/proto`). */
function addReflection(
  addService: GrpcServer["addService"],
  files: readonly DescFile[] | undefined,
  serviceNames: ReadonlySet<string>,
): void {
  const reflection = createReflectionImpls(files ?? protoFiles(), () => [...serviceNames]);
  addService(ServerReflection, reflection.v1);
  addService(ServerReflectionV1alpha, reflection.v1alpha);
}

/** See GrpcServer.stop. */
async function stopServer(
  server: Server,
  monitor: ServerHealthMonitor,
  { activeCalls, logger }: HandlerEnvironment,
  graceMs: number,
): Promise<void> {
  monitor.shutdown();
  const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  for (const call of activeCalls) if (call.streaming) call.abort(shuttingDown());
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<"grace over">((resolve) => {
    timer = setTimeout(() => resolve("grace over"), graceMs);
  });
  const outcome = await Promise.race([drained, graceOver]);
  clearTimeout(timer);
  if (outcome === "grace over") {
    logger.warn({ calls: activeCalls.size, graceMs }, "grace over: cutting remaining calls");
    for (const call of activeCalls) call.abort(shuttingDown());
    server.forceShutdown();
  }
}
