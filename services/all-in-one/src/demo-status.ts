import { createGrpcClient, GeoError, type GrpcClientOptions } from "@geo/grpc";
import {
  CoordinatorService,
  type coordinatorV1,
  healthV1,
  ReplicationHealthService,
  replicationV1,
} from "@geo/proto";
import type { InventoryPair } from "./demo-inventory";

interface FlowSummary {
  units: number;
  running: number;
  lag: bigint;
  copied: bigint;
  /** Records copied per second, summed over the flow's units. */
  rate: number;
  /** The worst unit's lag in time. */
  lagSeconds: number;
}

/** Per flow: units running, records copied and per second, lag in records and time. */
function summariseFlows(units: readonly coordinatorV1.UnitStatus[]): Map<string, FlowSummary> {
  const flows = new Map<string, FlowSummary>();
  for (const unit of units) {
    const flow = unit.unit?.flow ?? "?";
    const entry = flows.get(flow) ?? {
      units: 0,
      running: 0,
      lag: 0n,
      copied: 0n,
      rate: 0,
      lagSeconds: 0,
    };
    entry.units += 1;
    if (unit.state === replicationV1.UnitState.RUNNING) entry.running += 1;
    entry.lag += BigInt(unit.lag?.records ?? "0");
    entry.copied += BigInt(unit.nextSourceOffset || "0");
    entry.rate += unit.recordsPerSecond;
    const lagTime = unit.lag?.time;
    const seconds = lagTime === undefined ? 0 : Number(lagTime.seconds) + lagTime.nanos / 1e9;
    entry.lagSeconds = Math.max(entry.lagSeconds, seconds);
    flows.set(flow, entry);
  }
  return flows;
}

/** One status block: what the health service sees of each cluster and which agents are connected. */
export async function printStatus(options: {
  coordinator: string;
  health: string;
  say: (line: string) => void;
  written: Record<string, number>;
  /** The active-passive pair's producer and consumer, when the demo runs them. */
  inventory?: InventoryPair;
  /** Credentials (TLS) of the status calls. */
  clientOptions?: Omit<GrpcClientOptions, "address">;
}): Promise<void> {
  const { say } = options;
  const health = createGrpcClient(ReplicationHealthService, {
    ...options.clientOptions,
    address: options.health,
  });
  const coordinator = createGrpcClient(CoordinatorService, {
    ...options.clientOptions,
    address: options.coordinator,
  });
  try {
    const [clusters, agents, units, regions] = await Promise.all([
      health.listClusterHealth({}, { timeoutMs: 8000 }),
      coordinator.listAgents({}, { timeoutMs: 3000 }),
      coordinator.listUnits({ pageSize: 5000 }, { timeoutMs: 3000 }),
      health.listRegionStates({}, { timeoutMs: 3000 }),
    ]);
    const time = new Date().toISOString().slice(11, 19);
    for (const cluster of clusters.clusters) {
      say(
        `${time} cluster ${cluster.cluster.padEnd(8)} ${
          cluster.reachable
            ? `${cluster.brokerCount} broker(s), ${cluster.underReplicatedPartitionCount} under-replicated, ${cluster.offlinePartitionCount} offline`
            : `UNREACHABLE: ${cluster.error}`
        }`,
      );
    }
    for (const [source, count] of Object.entries(options.written)) {
      say(`${time} written  ${source}: ${count} records`);
    }
    const flows = summariseFlows(units.units);
    for (const [flow, entry] of flows) {
      say(
        `${time} flow     ${flow}: ${entry.running}/${entry.units} partitions running, ${entry.copied} records copied, ${entry.rate.toFixed(1)} records/s, lag ${entry.lag} records (${entry.lagSeconds.toFixed(1)} s)`,
      );
    }
    for (const state of regions.states) {
      say(
        `${time} region   ${state.flowGroup}: ${state.activeRegion} active, epoch ${state.epoch}, ${healthV1.RegionPhase[state.phase]?.toLowerCase() ?? state.phase}`,
      );
    }
    const pair = options.inventory?.stats();
    if (pair !== undefined) {
      say(
        `${time} clients  producer writes to ${pair.producerRegion ?? "(held)"}, consumer reads in ${pair.consumerRegion ?? "(switching)"}: ${pair.written} written, ${pair.readOnce} read, ${pair.duplicates} read twice`,
      );
    }
    say(
      `${time} agents   ${agents.agents.map((agent) => `${agent.id} (${agent.region})`).join(", ") || "none connected"}`,
    );
  } catch (error) {
    say(`status unavailable: ${GeoError.from(error).message}`);
  } finally {
    health.close();
    coordinator.close();
  }
}
