// The `grpc:` section: limits every server enforces, TLS of servers and clients, and the callers
// (principals) the servers know with their roles. See SECURITY.md at the repository root.
import { isAbsolute, resolve } from "node:path";
import type {
  GrpcAuthConfig,
  GrpcConfig,
  GrpcPrincipalConfig,
  GrpcRole,
  GrpcTlsConfig,
} from "./geo-config";
import type { Checker, Seg } from "./parse-config";

const ROLES: readonly GrpcRole[] = ["viewer", "operator", "admin", "agent", "service"];

export function buildGrpc(value: unknown, check: Checker, baseDir: string | undefined): GrpcConfig {
  const path = ["grpc"];
  const raw = check.record(value, path, "grpc") ?? {};
  check.keys(raw, path, [
    "defaultDeadlineMs",
    "maxMessageBytes",
    "maxCallMs",
    "tls",
    "auth",
    "clientToken",
  ]);
  const ms = (key: string, fallback: number) =>
    check.int(raw[key], [...path, key], fallback, { min: 1, max: 3_600_000, unit: "ms" });
  const tls = buildGrpcTls(raw.tls, [...path, "tls"], check, baseDir);
  const auth = buildAuth(raw.auth, [...path, "auth"], check);
  const clientToken = check.string(raw.clientToken, [...path, "clientToken"], { secret: true });
  return {
    defaultDeadlineMs: ms("defaultDeadlineMs", 10_000),
    maxMessageBytes: check.int(raw.maxMessageBytes, [...path, "maxMessageBytes"], 4 * 1024 * 1024, {
      min: 1024,
      max: 64 * 1024 * 1024,
    }),
    maxCallMs: ms("maxCallMs", 300_000),
    ...(tls === undefined ? {} : { tls }),
    ...(auth === undefined ? {} : { auth }),
    ...(clientToken === undefined || clientToken === "" ? {} : { clientToken }),
  };
}

function buildGrpcTls(
  value: unknown,
  path: Seg[],
  check: Checker,
  baseDir: string | undefined,
): GrpcTlsConfig | undefined {
  const raw = check.record(value, path, "tls");
  if (raw === undefined) return undefined;
  check.keys(raw, path, [
    "certFile",
    "keyFile",
    "caFile",
    "requireClientCert",
    "reloadIntervalMs",
    "serverName",
  ]);
  const file = (key: string, required: boolean) => {
    const text = check.string(raw[key], [...path, key], { required });
    if (text === undefined || text === "") return undefined;
    return baseDir !== undefined && !isAbsolute(text) ? resolve(baseDir, text) : text;
  };
  const certFile = file("certFile", true);
  const keyFile = file("keyFile", true);
  const caFile = file("caFile", false);
  const requireClientCert = check.bool(
    raw.requireClientCert,
    [...path, "requireClientCert"],
    caFile !== undefined,
  );
  if (requireClientCert && caFile === undefined) {
    check.issue(
      [...path, "caFile"],
      "is required with requireClientCert: true (client certificates are checked against it)",
    );
  }
  const serverName = check.string(raw.serverName, [...path, "serverName"]);
  if (certFile === undefined || keyFile === undefined) return undefined;
  return {
    certFile,
    keyFile,
    ...(caFile === undefined ? {} : { caFile }),
    requireClientCert,
    reloadIntervalMs: check.int(raw.reloadIntervalMs, [...path, "reloadIntervalMs"], 60_000, {
      min: 100,
      max: 86_400_000,
      unit: "ms",
    }),
    ...(serverName === undefined || serverName === "" ? {} : { serverName }),
  };
}

function buildAuth(value: unknown, path: Seg[], check: Checker): GrpcAuthConfig | undefined {
  const raw = check.record(value, path, "auth");
  if (raw === undefined) return undefined;
  check.keys(raw, path, ["principals"]);
  const items = check.list(raw.principals, [...path, "principals"]) ?? [];
  const principals: GrpcPrincipalConfig[] = [];
  const names = new Set<string>();
  items.forEach((item, index) => {
    const at: Seg[] = [...path, "principals", index];
    const principal = buildPrincipal(item, at, check);
    if (principal === undefined) return;
    if (names.has(principal.name)) {
      check.issue([...at, "name"], `duplicate principal name "${principal.name}"`);
    }
    names.add(principal.name);
    principals.push(principal);
  });
  return { principals };
}

function buildPrincipal(value: unknown, at: Seg[], check: Checker) {
  const raw = check.record(value, at, "a principal");
  if (raw === undefined) return undefined;
  check.keys(raw, at, ["name", "certificate", "token", "roles", "region", "agentId"]);
  const name = check.string(raw.name, [...at, "name"], { required: true });
  const certificate = check.string(raw.certificate, [...at, "certificate"]);
  const token = check.string(raw.token, [...at, "token"], { secret: true });
  if (!certificate && !token) {
    check.issue(at, "needs a certificate (subject CN or SAN) or a token to be recognised");
  }
  if (token !== undefined && token.length > 0 && token.length < 16) {
    check.issue([...at, "token"], "is shorter than 16 characters: use a long random token");
  }
  const roles: GrpcRole[] = [];
  (check.list(raw.roles, [...at, "roles"]) ?? []).forEach((role, index) => {
    if (ROLES.includes(role as GrpcRole)) roles.push(role as GrpcRole);
    else {
      check.issue(
        [...at, "roles", index],
        `unknown role ${JSON.stringify(role)}; roles: ${ROLES.join(", ")}`,
      );
    }
  });
  if (roles.length === 0) check.issue([...at, "roles"], "is required: give at least one role");
  const region = check.string(raw.region, [...at, "region"]);
  const agentId = check.string(raw.agentId, [...at, "agentId"]);
  if (name === undefined) return undefined;
  return {
    name,
    roles,
    ...(certificate ? { certificate } : {}),
    ...(token ? { token } : {}),
    ...(region ? { region } : {}),
    ...(agentId ? { agentId } : {}),
  } satisfies GrpcPrincipalConfig;
}
