// Where geoctl's servers are and how to reach them. Each setting comes from, in order: a flag,
// an environment variable (GEOCTL_*), the selected context of the context file, the default
// (the services' default ports on this machine, plaintext).
import { readFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { DEFAULT_PORTS } from "@geo/config";
import { createGrpcClient, type GrpcClient } from "@geo/grpc";
import { type ChannelCredentials, credentials } from "@grpc/grpc-js";
import { parse } from "yaml";
import { type CallTarget, CliError, ExitCode } from "./exit-codes";

export type ServiceRole = CallTarget["service"];
export const SERVICE_ROLES: readonly ServiceRole[] = ["coordinator", "offsets", "health"];

/** One named set of connection settings in the context file. */
export interface ContextEntry {
  coordinator?: string;
  offsets?: string;
  health?: string;
  /** TLS to the servers; `tls: true` uses the system's CAs. */
  tls?: boolean | { ca?: string; cert?: string; key?: string };
  actor?: string;
  timeoutMs?: number;
}

export interface ContextFile {
  current?: string;
  contexts: Record<string, ContextEntry>;
}

/** The global flags that concern connections. */
export interface ConnectionFlags {
  coordinator?: string;
  offsets?: string;
  health?: string;
  context?: string;
  tls?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  actor?: string;
  timeout?: string;
}

export interface Connection {
  addresses: Record<ServiceRole, string>;
  tls?: { ca?: string; cert?: string; key?: string };
  actor: string;
  timeoutMs: number;
  /** The context used, if any. */
  context?: string;
}

/** `$GEOCTL_CONFIG`, else `$XDG_CONFIG_HOME/geoctl/contexts.yaml` (~/.config by default). */
export function contextFilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GEOCTL_CONFIG) return env.GEOCTL_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "geoctl", "contexts.yaml");
}

/** The context file, or an empty one when it does not exist. */
export function readContextFile(path: string): ContextFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { contexts: {} };
    throw new CliError(
      `cannot read the context file ${path}: ${(error as Error).message}`,
      ExitCode.INVALID,
    );
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new CliError(
      `the context file ${path} is not valid YAML: ${(error as Error).message.split("\n")[0]}`,
      ExitCode.INVALID,
    );
  }
  const file = (raw ?? {}) as Partial<ContextFile>;
  if (
    typeof file !== "object" ||
    (file.contexts !== undefined && typeof file.contexts !== "object")
  ) {
    throw new CliError(
      `the context file ${path} must hold "current: <name>" and "contexts: {<name>: {coordinator: host:port, ...}}"`,
      ExitCode.INVALID,
    );
  }
  return {
    ...(file.current === undefined ? {} : { current: String(file.current) }),
    contexts: file.contexts ?? {},
  };
}

function parseTimeout(text: string, from: string): number {
  const ms = Number(text);
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new CliError(
      `${from} must be a positive number of milliseconds, got "${text}"`,
      ExitCode.USAGE,
    );
  }
  return ms;
}

/** Resolves flags, environment and context file into the settings to connect with. */
export function resolveConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
): Connection {
  const path = contextFilePath(env);
  const file = readContextFile(path);
  const contextName = flags.context ?? env.GEOCTL_CONTEXT ?? file.current;
  let entry: ContextEntry = {};
  if (contextName !== undefined) {
    const found = file.contexts[contextName];
    if (found === undefined) {
      const known = Object.keys(file.contexts).sort().join(", ") || "none";
      throw new CliError(
        `no context "${contextName}" in ${path}; contexts: ${known}`,
        ExitCode.NOT_FOUND,
      );
    }
    entry = found;
  }
  const addresses = Object.fromEntries(
    SERVICE_ROLES.map((role) => [
      role,
      flags[role] ??
        env[`GEOCTL_${role.toUpperCase()}`] ??
        entry[role] ??
        `127.0.0.1:${DEFAULT_PORTS[role]}`,
    ]),
  ) as Record<ServiceRole, string>;
  const fileTls = typeof entry.tls === "object" ? entry.tls : entry.tls === true ? {} : undefined;
  const ca = flags.ca ?? env.GEOCTL_CA ?? fileTls?.ca;
  const cert = flags.cert ?? env.GEOCTL_CERT ?? fileTls?.cert;
  const key = flags.key ?? env.GEOCTL_KEY ?? fileTls?.key;
  const tlsOn =
    flags.tls === true ||
    env.GEOCTL_TLS === "1" ||
    env.GEOCTL_TLS === "true" ||
    fileTls !== undefined ||
    ca !== undefined ||
    cert !== undefined;
  if ((cert === undefined) !== (key === undefined)) {
    throw new CliError(
      "--cert and --key go together (client certificate and its key)",
      ExitCode.USAGE,
    );
  }
  const timeoutText = flags.timeout ?? env.GEOCTL_TIMEOUT;
  return {
    addresses,
    ...(tlsOn ? { tls: { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) } } : {}),
    actor: flags.actor ?? env.GEOCTL_ACTOR ?? entry.actor ?? `cli:${userInfo().username}`,
    timeoutMs:
      timeoutText !== undefined
        ? parseTimeout(timeoutText, flags.timeout !== undefined ? "--timeout" : "GEOCTL_TIMEOUT")
        : (entry.timeoutMs ?? 10_000),
    ...(contextName === undefined ? {} : { context: contextName }),
  };
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new CliError(
      `cannot read the ${what} ${path}: ${(error as Error).message}`,
      ExitCode.INVALID,
    );
  }
}

function channelCredentials(connection: Connection): ChannelCredentials {
  const tls = connection.tls;
  if (tls === undefined) return credentials.createInsecure();
  return credentials.createSsl(
    tls.ca === undefined ? null : readPem(tls.ca, "CA file"),
    tls.key === undefined ? null : readPem(tls.key, "client key"),
    tls.cert === undefined ? null : readPem(tls.cert, "client certificate"),
  );
}

/** A typed client of `service` on the server of `role`. Close it when done. */
export function connect<S extends DescService>(
  connection: Connection,
  role: ServiceRole,
  service: S,
): GrpcClient<S> {
  return createGrpcClient(service, {
    address: connection.addresses[role],
    credentials: channelCredentials(connection),
    defaultTimeoutMs: connection.timeoutMs,
    metadata: { "x-geo-actor": connection.actor },
  });
}
