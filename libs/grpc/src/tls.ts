// TLS and mutual TLS for servers and clients from PEM files that are read again periodically, so
// a rotated certificate is used by new connections without a restart (connections already open
// keep the certificate they were made with until they close).
import { readFileSync } from "node:fs";
import {
  type ChannelCredentials,
  credentials,
  experimental,
  type ServerCredentials,
} from "@grpc/grpc-js";
import type { GrpcClientOptions } from "./grpc-client.js";

/** Where a process's certificate, key and CA bundle are; the shape of the config's `grpc.tls`. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile?: string;
  /** Servers: refuse clients without a certificate signed by caFile. */
  readonly requireClientCert?: boolean;
  /** How often the files are read again (default 60000). */
  readonly reloadIntervalMs?: number;
  /** Clients: the name to verify in the server's certificate instead of the address's host. */
  readonly serverName?: string;
}

/**
 * Reads every file once now, so a missing or unreadable one fails at start-up naming the file,
 * not on the first connection. File contents never appear in errors.
 */
function checkReadable(files: TlsFiles): void {
  for (const [field, file] of [
    ["certFile", files.certFile],
    ["keyFile", files.keyFile],
    ["caFile", files.caFile],
  ] as const) {
    if (file === undefined) continue;
    try {
      readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      throw new Error(`grpc.tls.${field}: cannot read "${file}" (${code})`);
    }
  }
}

function provider(files: TlsFiles): experimental.FileWatcherCertificateProvider {
  checkReadable(files);
  return new experimental.FileWatcherCertificateProvider({
    certificateFile: files.certFile,
    privateKeyFile: files.keyFile,
    ...(files.caFile === undefined ? {} : { caCertificateFile: files.caFile }),
    refreshIntervalMs: files.reloadIntervalMs ?? 60_000,
  });
}

/** Server credentials presenting certFile; with caFile, client certificates are requested. */
export function serverTlsCredentials(files: TlsFiles): ServerCredentials {
  const watcher = provider(files);
  const requireClientCert = files.requireClientCert ?? files.caFile !== undefined;
  if (requireClientCert && files.caFile === undefined) {
    throw new Error(
      "grpc.tls.requireClientCert needs grpc.tls.caFile to check client certificates",
    );
  }
  // grpc-js names this function's parameters (ca, identity) but uses them as (identity, ca).
  return experimental.createCertificateProviderServerCredentials(
    watcher,
    files.caFile === undefined ? null : watcher,
    requireClientCert,
  );
}

/**
 * Client credentials verifying the server against caFile (the system CAs without it) and
 * presenting certFile for mutual TLS.
 */
export function clientTlsCredentials(files: TlsFiles): ChannelCredentials {
  if (files.caFile === undefined) {
    checkReadable(files);
    return credentials.createSsl(null, readFileSync(files.keyFile), readFileSync(files.certFile));
  }
  const watcher = provider(files);
  return experimental.createCertificateProviderChannelCredentials(watcher, watcher);
}

/** Channel options a TLS client needs: the name verified in the server certificate. */
export function clientTlsChannelOptions(files: TlsFiles): Record<string, string> {
  return files.serverName === undefined
    ? {}
    : {
        "grpc.ssl_target_name_override": files.serverName,
        "grpc.default_authority": files.serverName,
      };
}

/** The security part of the config's `grpc:` section, as clients need it. */
export interface GrpcClientSecurity {
  readonly defaultDeadlineMs?: number;
  readonly tls?: TlsFiles;
  readonly clientToken?: string;
}

/**
 * Options of a client of another service at `address`: TLS with this process's certificate when
 * `security.tls` is set, the bearer token when `security.clientToken` is. Pass `config.grpc`.
 */
export function secureClientOptions(
  security: GrpcClientSecurity,
  address: string,
  options: Omit<GrpcClientOptions, "address" | "credentials"> = {},
): GrpcClientOptions {
  const { tls, clientToken } = security;
  return {
    ...(security.defaultDeadlineMs === undefined
      ? {}
      : { defaultTimeoutMs: security.defaultDeadlineMs }),
    ...options,
    address,
    ...(tls === undefined
      ? {}
      : {
          credentials: clientTlsCredentials(tls),
          channelOptions: { ...clientTlsChannelOptions(tls), ...options.channelOptions },
        }),
    ...(clientToken === undefined
      ? {}
      : { metadata: { ...options.metadata, authorization: `Bearer ${clientToken}` } }),
  };
}
