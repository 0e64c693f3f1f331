// geoctl clusters / agents / units: what the coordinator knows of the clusters, the agents
// connected to it, and the units (flow, topic, partition) with their desired and actual owner.
import { CoordinatorService, coordinatorV1, replicationV1 } from "@geo/proto";
import type { Command } from "commander";
import { CliError, ExitCode } from "../exit-codes";
import { emit, enumText, messageJson, renderFields, renderTable, timeText } from "../output";
import { allPages } from "../pages";
import { action } from "../runtime";

const clusterJson = (cluster: coordinatorV1.Cluster) =>
  messageJson(coordinatorV1.ClusterSchema, cluster);

function clusterFields(cluster: coordinatorV1.Cluster): [string, unknown][] {
  return [
    ["alias", cluster.alias],
    ["region", cluster.region],
    ["bootstrap servers", cluster.bootstrapServers.join(",")],
    ["security", enumText(coordinatorV1.SecurityProtocol, cluster.securityProtocol)],
    [
      "sasl",
      cluster.saslMechanism === coordinatorV1.SaslMechanism.UNSPECIFIED
        ? "none"
        : enumText(coordinatorV1.SaslMechanism, cluster.saslMechanism),
    ],
    ["flows out", cluster.sourceFlowCount],
    ["flows in", cluster.targetFlowCount],
  ];
}

function registerClusters(program: Command): void {
  const clusters = program
    .command("clusters")
    .description("Kafka clusters known from the config file");
  clusters
    .command("list")
    .alias("ls")
    .description("list clusters in alias order")
    .action(
      action(async (context) => {
        const { clusters: list } = await context
          .client("coordinator", CoordinatorService)
          .listClusters({});
        emit(context.format, list.map(clusterJson), () =>
          renderTable(
            ["alias", "region", "bootstrap servers", "security", "sasl", "flows out", "flows in"],
            list.map((cluster) => clusterFields(cluster).map(([, value]) => value)),
          ),
        );
        return undefined;
      }),
    );
  clusters
    .command("describe <alias>")
    .alias("get")
    .description("one cluster")
    .action(
      action(async (context, alias: string) => {
        const { cluster } = await context
          .client("coordinator", CoordinatorService)
          .getCluster({ alias });
        if (cluster === undefined) throw new CliError(`no cluster "${alias}"`, ExitCode.NOT_FOUND);
        emit(context.format, clusterJson(cluster), () => renderFields(clusterFields(cluster)));
        return undefined;
      }),
    );
}

function registerAgents(program: Command): void {
  program
    .command("agents")
    .description("agents connected to the coordinator, with their units and load")
    .option("--region <region>", "only agents of this region")
    .option("--all", "include agents whose session ended recently", false)
    .action(
      action(async (context, options: { region?: string; all: boolean }) => {
        const { agents } = await context.client("coordinator", CoordinatorService).listAgents({
          region: options.region ?? "",
          includeDisconnected: options.all,
        });
        emit(
          context.format,
          agents.map((agent) => messageJson(coordinatorV1.AgentSchema, agent)),
          () =>
            renderTable(
              [
                "id",
                "region",
                "connected",
                "units",
                "records/s",
                "lag",
                "version",
                "last heartbeat",
              ],
              agents.map((agent) => [
                agent.id,
                agent.region,
                agent.connected ? "yes" : "no",
                `${agent.runningUnitCount}/${agent.desiredUnitCount}`,
                (agent.load?.recordsPerSecond ?? 0).toFixed(1),
                agent.load?.lagRecords ?? "0",
                agent.version,
                timeText(agent.lastHeartbeatTime),
              ]),
            ),
        );
        return undefined;
      }),
    );
}

const STATES = Object.fromEntries(
  Object.entries(replicationV1.UnitState)
    .filter(([, value]) => typeof value === "number" && value !== 0)
    .map(([name, value]) => [name.toLowerCase(), value as replicationV1.UnitState]),
);

function parseStates(names: readonly string[]): replicationV1.UnitState[] {
  return names.map((name) => {
    const state = STATES[name.toLowerCase()];
    if (state === undefined) {
      throw new CliError(
        `unknown unit state "${name}"; use one of ${Object.keys(STATES).join(", ")}`,
        ExitCode.USAGE,
      );
    }
    return state;
  });
}

function registerUnits(program: Command): void {
  program
    .command("units")
    .description(
      "units (flow, source topic, partition) with desired and actual agent, state and lag",
    )
    .option("--flow <name>", "only units of this flow")
    .option("--agent <id>", "only units desired on, or reported by, this agent")
    .option("--state <state...>", `only units in these states (${Object.keys(STATES).join(", ")})`)
    .option("--mismatched", "only units whose actual agent differs from the desired one", false)
    .action(
      action(
        async (
          context,
          options: { flow?: string; agent?: string; state?: string[]; mismatched: boolean },
        ) => {
          const states = parseStates(options.state ?? []);
          const client = context.client("coordinator", CoordinatorService);
          const units = await allPages(async (pageToken) => {
            const page = await client.listUnits({
              flow: options.flow ?? "",
              agentId: options.agent ?? "",
              states,
              mismatchedOnly: options.mismatched,
              pageSize: 5000,
              pageToken,
            });
            return { items: page.units, nextPageToken: page.nextPageToken };
          });
          emit(
            context.format,
            units.map((unit) => messageJson(coordinatorV1.UnitStatusSchema, unit)),
            () =>
              renderTable(
                [
                  "flow",
                  "topic",
                  "partition",
                  "desired",
                  "actual",
                  "epoch",
                  "state",
                  "next offset",
                  "lag",
                  "reason",
                ],
                units.map((unit) => [
                  unit.unit?.flow,
                  unit.unit?.sourceTopic,
                  unit.unit?.partition,
                  unit.desiredAgentId,
                  unit.actualAgentId,
                  unit.epoch,
                  enumText(replicationV1.UnitState, unit.state),
                  unit.nextSourceOffset,
                  unit.lag?.records ?? "",
                  unit.reason,
                ]),
              ),
          );
          return undefined;
        },
      ),
    );
}

export function registerInventoryCommands(program: Command): void {
  registerClusters(program);
  registerAgents(program);
  registerUnits(program);
}
