// Who is calling and whether they may: callers are identified by their client certificate
// (subject CN or a SAN entry) or a bearer token, mapped to roles by configuration, and every
// method of every service needs one role (the table below). Plugged into a server as its
// `beforeCall`, so each service gets it with one line and no handler changes.
import { timingSafeEqual } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import { Code } from "./code.js";
import { GeoError } from "./geo-error.js";
import type { GrpcLogger } from "./logger.js";
import type { HandlerContext } from "./service-impl.js";

export type Role = "viewer" | "operator" | "admin" | "agent" | "service";

/** A known caller; the shape of the config's `grpc.auth.principals[]`. */
export interface Principal {
  readonly name: string;
  readonly certificate?: string;
  readonly token?: string;
  readonly roles: readonly Role[];
  readonly region?: string;
  readonly agentId?: string;
}

/** What a method needs: a role, or nothing (`public`: health checks for load balancers). */
export type Requirement = Role | "public";

/**
 * The role each method needs, per service. Methods not listed need `viewer` when they only read
 * (Get, List, Watch), else `admin`: a new RPC is closed until someone decides otherwise.
 */
export const METHOD_ROLES: Readonly<Record<string, Readonly<Record<string, Requirement>>>> = {
  "grpc.health.v1.Health": { Check: "public", Watch: "public", List: "public" },
  "geo.coordinator.v1.CoordinatorService": {
    CreateFlow: "operator",
    UpdateFlow: "operator",
    PauseFlow: "operator",
    ResumeFlow: "operator",
    DeleteFlow: "admin",
  },
  "geo.agent.v1.AgentSessionService": { Connect: "agent" },
  "geo.offsets.v1.OffsetTranslationService": {
    TranslateGroupOffsets: "operator",
    TranslateOffsets: "operator",
    CommitTranslatedOffsets: "operator",
  },
  "geo.health.v1.ReplicationHealthService": {
    Switchover: "admin",
    Failover: "admin",
    Failback: "admin",
  },
};

export function requiredRole(service: string, method: string): Requirement {
  const listed = METHOD_ROLES[service]?.[method];
  if (listed !== undefined) return listed;
  if (service.startsWith("grpc.reflection.")) return "viewer";
  return /^(Get|List|Watch)[A-Z]/.test(method) ? "viewer" : "admin";
}

const IMPLIES: Readonly<Record<Role, readonly Role[]>> = {
  viewer: ["viewer"],
  operator: ["operator", "viewer"],
  admin: ["admin", "operator", "viewer"],
  // Agents read the flows they run (ListFlows through the flow catalog) but change nothing.
  agent: ["agent", "viewer"],
  service: ["service", "admin", "operator", "viewer", "agent"],
};

export function hasRole(roles: readonly Role[], needed: Role): boolean {
  return roles.some((role) => IMPLIES[role].includes(needed));
}

/** An identified caller, as handlers see it in `context.caller`. */
export interface Caller {
  readonly name: string;
  readonly roles: readonly Role[];
  /** How the caller proved who it is. */
  readonly via: "certificate" | "token";
  readonly region?: string;
  readonly agentId?: string;
}

export interface AuthorizerOptions {
  readonly principals: readonly Principal[];
  readonly logger?: GrpcLogger;
  /** Called for every decision on a method that changes something (not viewer/public). */
  readonly onDecision?: (decision: AuthorizationDecision) => void;
}

export interface AuthorizationDecision {
  readonly method: string;
  /** The request of a unary call (undefined for streams), to say what was asked. */
  readonly request?: unknown;
  /** Why it was refused (the status message); undefined when allowed. */
  readonly reason?: string;
  readonly caller: string;
  readonly allowed: boolean;
  readonly needed: Role;
  readonly peer: string;
}

/** Names a certificate answers to: subject CN and SAN entries (DNS, URI, email, IP). */
export function certificateNames(certificate: PeerCertificate | undefined): string[] {
  if (certificate === undefined) return [];
  const names: string[] = [];
  const cn: unknown = certificate.subject?.CN;
  if (typeof cn === "string") names.push(cn);
  else if (Array.isArray(cn)) names.push(...cn.map(String));
  for (const entry of (certificate.subjectaltname ?? "").split(",")) {
    const value = entry.trim().replace(/^(DNS|URI|email|IP Address):/, "");
    if (value !== "") names.push(value);
  }
  return names;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The `beforeCall` of a server that only lets callers with the right role in. */
export function createAuthorizer(
  options: AuthorizerOptions,
): (context: HandlerContext, request?: unknown) => void {
  const byCertificate = new Map<string, Principal>();
  const withToken = options.principals.filter((p) => p.token !== undefined && p.token !== "");
  for (const principal of options.principals) {
    if (principal.certificate !== undefined) byCertificate.set(principal.certificate, principal);
  }

  const identify = (context: HandlerContext): Caller | undefined => {
    const header = context.metadataValue("authorization");
    if (header !== undefined) {
      const token = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? "";
      const principal = withToken.find((p) => sameSecret(token, p.token!));
      if (principal === undefined) {
        throw new GeoError(
          Code.UNAUTHENTICATED,
          "the bearer token is not known: check the token the client sends (authorization: Bearer <token>)",
        );
      }
      return callerOf(principal, "token");
    }
    for (const name of certificateNames(context.peerCertificate)) {
      const principal = byCertificate.get(name);
      if (principal !== undefined) return callerOf(principal, "certificate");
    }
    return undefined;
  };

  return (context, request) => {
    const service = context.service.typeName;
    const method = `${service}/${context.method.name}`;
    const needed = requiredRole(service, context.method.name);
    if (needed === "public") return;
    const caller = identify(context);
    context.caller = caller;
    const decide = (who: string, refusal?: GeoError) => {
      if (needed === "viewer") return refusal;
      const allowed = refusal === undefined;
      const decision = { method, caller: who, allowed, needed, peer: context.peer };
      options.logger?.info({ audit: true, ...decision }, allowed ? "call allowed" : "call refused");
      options.onDecision?.({
        ...decision,
        request,
        ...(allowed ? {} : { reason: refusal.message }),
      });
      return refusal;
    };
    if (caller === undefined) {
      const names = certificateNames(context.peerCertificate);
      throw decide(
        names.length > 0 ? `certificate:${names[0]}` : `peer:${context.peer}`,
        new GeoError(
          Code.UNAUTHENTICATED,
          `${method} needs the ${needed} role, and the caller is not known: present a client certificate or bearer token that grpc.auth.principals lists`,
        ),
      );
    }
    if (!hasRole(caller.roles, needed)) {
      throw decide(
        caller.name,
        new GeoError(
          Code.PERMISSION_DENIED,
          `${method} needs the ${needed} role; "${caller.name}" has ${caller.roles.join(", ")}`,
        ),
      );
    }
    decide(caller.name);
  };
}

function callerOf(principal: Principal, via: Caller["via"]): Caller {
  return {
    name: principal.name,
    roles: principal.roles,
    via,
    ...(principal.region === undefined ? {} : { region: principal.region }),
    ...(principal.agentId === undefined ? {} : { agentId: principal.agentId }),
  };
}

/**
 * Refuses an agent session for another region or id than the caller's certificate or token
 * names. Callers with the service role (and servers without authorization) pass.
 */
export function requireAgentIdentity(
  context: HandlerContext,
  claimed: { region: string; agentId: string },
): void {
  const caller = context.caller;
  if (caller === undefined || caller.roles.includes("service")) return;
  const mismatch =
    (caller.region !== undefined && caller.region !== claimed.region) ||
    (caller.agentId !== undefined && caller.agentId !== claimed.agentId);
  if (mismatch) {
    throw new GeoError(
      Code.PERMISSION_DENIED,
      `"${caller.name}" may speak only for agent "${caller.agentId ?? "*"}" of region "${caller.region ?? "*"}", not agent "${claimed.agentId}" of region "${claimed.region}"`,
    );
  }
}
