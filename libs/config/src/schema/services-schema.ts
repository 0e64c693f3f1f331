// The `services:` section: where each service listens and is reached.
import { parseHostPort } from "../host-port";
import { regionRef, type SchemaContext } from "./context";
import { flag, hostPort, MAX_NAME, ms, name, section } from "./fields";

const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const DEFAULT_PORTS = Object.freeze({
  coordinator: 7100,
  offsets: 7200,
  health: 7300,
  agent: 7400,
});

// services: where each service listens and is reached

// Prometheus metrics sit one port above the service's gRPC port on the same host unless
// configured; port 0 (for either) is allowed so tests and demos can run several copies on a host.
function metricsNextTo(listen: string): string {
  const { host, port } = parseHostPort(listen, { allowPortZero: true });
  const bracketed = host.includes(":") ? `[${host}]` : host;
  return `${bracketed}:${port === 0 ? 0 : port + 1}`;
}

// A wildcard bind address is not something a client can dial; assume a local set-up.
function reachable(listen: string): string {
  const { host, port } = parseHostPort(listen);
  if (host === "0.0.0.0") return `127.0.0.1:${port}`;
  if (host === "::") return `[::1]:${port}`;
  return listen;
}

const endpointFields = (service: "coordinator" | "offsets" | "health") => ({
  listen: hostPort().default(`0.0.0.0:${DEFAULT_PORTS[service]}`).describe("address bound"),
  address: hostPort().optional().describe("address other components dial"),
  metricsListen: hostPort({ allowPortZero: true })
    .optional()
    .describe("Prometheus /metrics; default: the gRPC port + 1"),
});

/**
 * How the offsets service keeps MirrorMaker 2 checkpoints fresh. After an unplanned failover a
 * group re-reads what it consumed past its newest checkpoint: following the source's commits
 * (`__consumer_offsets`) bounds that by `coalesceMs` plus a write, where a periodic round alone
 * bounds it by the round's period.
 */
function checkpointsSchema() {
  return section({
    intervalMs: ms(500, 3_600_000)
      .default(4000)
      .describe("period of the round that reads every selected group's offsets (the fallback)"),
    followCommits: flag()
      .default(true)
      .describe("also checkpoint a group soon after it commits (tails __consumer_offsets)"),
    coalesceMs: ms(10, 60_000)
      .default(250)
      .describe("commits followed are written at most this often (per pass, for every group)"),
  }).prefault({});
}

/** The addresses left out, from the one bound. */
function withAddresses<T extends { listen: string; address?: string; metricsListen?: string }>(
  endpoint: T,
): T & { address: string; metricsListen: string } {
  return {
    ...endpoint,
    address: endpoint.address ?? reachable(endpoint.listen),
    metricsListen: endpoint.metricsListen ?? metricsNextTo(endpoint.listen),
  };
}

function endpointSchema(service: "coordinator" | "health") {
  return section(endpointFields(service)).transform(withAddresses).prefault({});
}

function offsetsSchema() {
  return section({ ...endpointFields("offsets"), checkpoints: checkpointsSchema() })
    .transform(withAddresses)
    .prefault({});
}

function agentSchema(context: SchemaContext) {
  return section({
    // Port 0 lets several agents share a host in demos; agents register their real address.
    listen: hostPort({ allowPortZero: true }).default(`0.0.0.0:${DEFAULT_PORTS.agent}`),
    metricsListen: hostPort({ allowPortZero: true }).optional(),
    region: regionRef(context).describe("the region this agent serves (GEO_AGENT_REGION)"),
    id: name(AGENT_ID, 'use letters, digits, ".", "_" and "-"', MAX_NAME)
      .optional()
      .describe("stable agent identity (GEO_AGENT_ID); default: host name and pid"),
  })
    .transform((agent) => ({
      ...agent,
      metricsListen: agent.metricsListen ?? metricsNextTo(agent.listen),
    }))
    .prefault({});
}

export function servicesSchema(context: SchemaContext) {
  return section({
    coordinator: endpointSchema("coordinator"),
    offsets: offsetsSchema(),
    health: endpointSchema("health"),
    agent: agentSchema(context),
  }).prefault({});
}
