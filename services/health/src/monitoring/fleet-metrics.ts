import { runLoop } from "@geo/backoff";
import type { GeoConfig } from "@geo/config";
import { createGrpcClient } from "@geo/grpc";
import { createLeaseStore } from "@geo/leases";
import type { Logger } from "@geo/logging";
import { Gauge, type Registry } from "@geo/metrics";
import { CoordinatorService, replicationV1 } from "@geo/proto";
import type { Redis } from "@geo/redis";

const STATE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(replicationV1.UnitState)
    .filter(([, value]) => typeof value === "number")
    .map(([name, value]) => [value as number, name.toLowerCase()]),
);

/**
 * The fleet as seen from outside the agents and coordinators, so that alerts fire even when
 * those processes are gone (a dead agent exports nothing): live agents per region and the
 * coordinator leader from Redis, units per agent and state from the coordinator's ListUnits.
 * Polled in the background every probe interval; scrapes read the last poll.
 */
export function startFleetMetrics(options: {
  config: Pick<GeoConfig, "redis" | "services" | "flows" | "clusters" | "monitoring">;
  redis: Redis;
  registry: Registry;
  logger: Logger;
  signal: AbortSignal;
  regions: () => readonly string[];
}): Promise<void> {
  const { config, redis, registry, logger, signal } = options;
  const store = createLeaseStore({ redis, keyPrefix: config.redis.keyPrefix });
  const coordinator = createGrpcClient(CoordinatorService, {
    address: config.services.coordinator.address,
    defaultTimeoutMs: 3000,
  });
  let liveAgents = new Map<string, number>();
  let leader: number | undefined;
  let units = new Map<string, { flow: string; agent: string; state: string; count: number }>();
  const registers = [registry];
  new Gauge({
    name: "geo_health_region_live_agents",
    help: "Agents whose liveness lease in Redis is current, per region that is the target of a flow (0: nothing replicates into it).",
    labelNames: ["region"],
    registers,
    collect() {
      this.reset();
      for (const region of options.regions()) this.set({ region }, liveAgents.get(region) ?? 0);
    },
  });
  new Gauge({
    name: "geo_health_coordinator_leader",
    help: "1 when a coordinator holds the leader lease in Redis, 0 when none does.",
    registers,
    collect() {
      this.reset();
      if (leader !== undefined) this.set(leader);
    },
  });
  new Gauge({
    name: "geo_health_units",
    help: "Units (replicated partitions) per flow, actual agent and state, as the coordinator reports them.",
    labelNames: ["flow", "agent", "state"],
    registers,
    collect() {
      this.reset();
      for (const u of units.values())
        this.set({ flow: u.flow, agent: u.agent, state: u.state }, u.count);
    },
  });
  const pollRedis = async () => {
    const agents = await store.listLiveAgents();
    const counts = new Map<string, number>();
    for (const agent of agents) counts.set(agent.region, (counts.get(agent.region) ?? 0) + 1);
    liveAgents = counts;
    leader = (await redis.exists(`${config.redis.keyPrefix}coordinator:leader`)) === 1 ? 1 : 0;
  };
  const pollUnits = async () => {
    const next = new Map<string, { flow: string; agent: string; state: string; count: number }>();
    let pageToken = "";
    do {
      const page = await coordinator.listUnits({ pageSize: 5000, pageToken });
      for (const unit of page.units) {
        const flow = unit.unit?.flow ?? "";
        const agent = unit.actualAgentId || "none";
        const state = STATE_NAMES[unit.state] ?? "unit_state_unspecified";
        const key = `${flow}\u0000${agent}\u0000${state}`;
        const entry = next.get(key) ?? {
          flow,
          agent,
          state: state.replace(/^unit_state_/, ""),
          count: 0,
        };
        entry.count += 1;
        next.set(key, entry);
      }
      pageToken = page.nextPageToken;
    } while (pageToken !== "" && !signal.aborted);
    units = next;
  };
  const onError = (what: string) => (error: unknown, delayMs: number, failures: number) => {
    if (failures === 1 || failures % 30 === 0) {
      logger.warn({ err: (error as Error).message, delayMs, failures }, `${what} failed; retrying`);
    }
  };
  const intervalMs = config.monitoring.probeIntervalMs;
  return Promise.all([
    runLoop(pollRedis, {
      intervalMs,
      signal,
      onError: onError("reading agents and leader from Redis"),
    }),
    runLoop(pollUnits, {
      intervalMs,
      signal,
      onError: (error, delayMs, failures) => {
        units = new Map(); // stale unit states would hide a coordinator outage
        onError("listing units from the coordinator")(error, delayMs, failures);
      },
    }),
  ]).then(() => coordinator.close());
}
