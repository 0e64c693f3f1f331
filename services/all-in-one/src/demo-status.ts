import { createGrpcClient, GeoError, type GrpcClientOptions } from "@geo/grpc";
import { CoordinatorService, ReplicationHealthService, replicationV1 } from "@geo/proto";

/** One status block: what the health service sees of each cluster and which agents are connected. */
export async function printStatus(options: {
  coordinator: string;
  health: string;
  say: (line: string) => void;
  written: Record<string, number>;
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
    const [clusters, agents, units] = await Promise.all([
      health.listClusterHealth({}, { timeoutMs: 8000 }),
      coordinator.listAgents({}, { timeoutMs: 3000 }),
      coordinator.listUnits({ pageSize: 5000 }, { timeoutMs: 3000 }),
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
    const flows = new Map<
      string,
      { units: number; running: number; lag: bigint; copied: bigint }
    >();
    for (const unit of units.units) {
      const flow = unit.unit?.flow ?? "?";
      const entry = flows.get(flow) ?? { units: 0, running: 0, lag: 0n, copied: 0n };
      entry.units += 1;
      if (unit.state === replicationV1.UnitState.RUNNING) entry.running += 1;
      entry.lag += BigInt(unit.lag?.records ?? "0");
      entry.copied += BigInt(unit.nextSourceOffset || "0");
      flows.set(flow, entry);
    }
    for (const [flow, entry] of flows) {
      say(
        `${time} flow     ${flow}: ${entry.running}/${entry.units} partitions running, ${entry.copied} records copied, lag ${entry.lag} records`,
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
