// The config's `grpc:` section applied to servers and clients: TLS (mutual when a CA is named),
// limits, and authorization. Secure when configured, loud when not: a process without
// grpc.tls or grpc.auth still starts (local development, existing set-ups) but warns at start.
import type { GeoConfig } from "@geo/config";
import {
  type AuthorizationDecision,
  createAuthorizer,
  type GrpcClientOptions,
  type GrpcServerOptions,
  secureClientOptions,
  serverTlsCredentials,
} from "@geo/grpc";
import type { Logger } from "@geo/logging";

const warned = new WeakSet<GeoConfig>();

/** Server options for `config.grpc`: credentials, message and call limits, authorization. */
export function grpcServerSecurity(
  config: GeoConfig,
  logger: Logger,
  onDecision?: (decision: AuthorizationDecision) => void,
): Pick<
  GrpcServerOptions,
  "credentials" | "maxReceiveMessageBytes" | "maxUnaryCallMs" | "beforeCall"
> {
  const { grpc } = config;
  if (!warned.has(config)) {
    warned.add(config);
    if (grpc.tls === undefined) {
      logger.warn(
        { setting: "grpc.tls" },
        "gRPC runs WITHOUT TLS: anyone who can reach the port can read and change flows and trigger failover; set grpc.tls (see SECURITY.md)",
      );
    }
    if (grpc.auth === undefined) {
      logger.warn(
        { setting: "grpc.auth" },
        "gRPC runs WITHOUT authorization: every caller may create, delete and fail over flows; set grpc.auth.principals (see SECURITY.md)",
      );
    }
  }
  return {
    ...(grpc.tls === undefined ? {} : { credentials: serverTlsCredentials(grpc.tls) }),
    ...(grpc.maxMessageBytes === undefined ? {} : { maxReceiveMessageBytes: grpc.maxMessageBytes }),
    ...(grpc.maxCallMs === undefined ? {} : { maxUnaryCallMs: grpc.maxCallMs }),
    ...(grpc.auth === undefined
      ? {}
      : {
          beforeCall: createAuthorizer({
            principals: grpc.auth.principals,
            logger,
            ...(onDecision === undefined ? {} : { onDecision }),
          }),
        }),
  };
}

/**
 * Options of a client of another service of this installation at `address`: TLS with this
 * process's certificate when grpc.tls is set, the bearer token when grpc.clientToken is.
 */
export function grpcClientOptions(
  config: GeoConfig,
  address: string,
  options: Omit<GrpcClientOptions, "address" | "credentials"> = {},
): GrpcClientOptions {
  return secureClientOptions(config.grpc, address, options);
}
