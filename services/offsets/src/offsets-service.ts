import { createFlowCatalog } from "@geo/flow-catalog";
import { createClusterAdmin } from "@geo/kafka";
import { OffsetTranslationService } from "@geo/proto";
import {
  type DependencyProbe,
  kafkaClusterProbe,
  type RunningService,
  type ServiceContext,
  serveService,
} from "@geo/service-runtime";
import { CheckpointLoop } from "./checkpoint-loop";
import { CommitCheckpoints } from "./commit-checkpoints";
import { type FlowDirectory, flowDirectoryFromCatalog } from "./flows";
import { OffsetsCore } from "./offsets-core";
import { offsetsHandlers } from "./offsets-handlers";
import { type OffsetsMetrics, registerOffsetsMetrics } from "./offsets-metrics";

/**
 * The offset-translation service: an index of every replicated partition's offset map, read
 * from the target clusters (so it works when a source region is gone); exact translation of
 * group offsets; MirrorMaker 2 checkpoints and group offset sync into the targets. SERVING once
 * the index holds what the targets had at start, and while the flows' target clusters answer.
 */
export async function startOffsets(context: ServiceContext): Promise<RunningService> {
  const { config, logger } = context;
  const catalog = createFlowCatalog({ config, logger });
  const flows = flowDirectoryFromCatalog(catalog);
  const core = new OffsetsCore(config, flows, logger.child({ component: "offsets" }));
  let checkpointing: ReturnType<typeof startCheckpointing> | undefined;
  // New flows bring new targets and checkpoint topics to follow, and new sources' commits.
  const unsubscribe = catalog.onChange(() => {
    core.targets.sync(flows);
    checkpointing?.commits?.sync(flows);
  });
  const targetAliases = [...new Set(flows.list().map((f) => f.target))];
  const admins = targetAliases.flatMap((alias) => {
    const cluster = config.clusters[alias];
    return cluster === undefined
      ? []
      : [createClusterAdmin(cluster, { clientId: "geo-offsets", logger })];
  });
  const indexProbe: DependencyProbe = {
    name: "offset-index",
    check: async () => {
      if (!core.targets.ready) throw new Error("the offset index is still being built");
    },
  };
  let metrics: OffsetsMetrics | undefined;
  const served = await serveService({
    context,
    listen: config.services.offsets.listen,
    metricsListen: config.services.offsets.metricsListen,
    probes: [indexProbe, ...admins.map((admin) => kafkaClusterProbe(admin))],
    probeIntervalMs: 1000,
    register: (server, registry) => {
      metrics = registerOffsetsMetrics(registry, {
        indexStats: () => core.index.stats(),
        checkpointTimes: () => checkpointing?.loop.times.values() ?? [],
      });
      server.addService(OffsetTranslationService, offsetsHandlers(core, metrics));
    },
    close: async () => {
      unsubscribe();
      await catalog.close();
      await checkpointing?.loop.close();
      await checkpointing?.commits?.close();
      await core.close();
      await Promise.all(admins.map((admin) => admin.close()));
    },
  });
  checkpointing = startCheckpointing(core, metrics!, context.config, flows);
  return served;
}

/** The periodic checkpoint round and, unless configured off, commit-driven checkpoints. */
function startCheckpointing(
  core: OffsetsCore,
  metrics: OffsetsMetrics,
  config: ServiceContext["config"],
  flows: FlowDirectory,
) {
  const settings = config.services.offsets.checkpoints;
  const loop = new CheckpointLoop(core, metrics, { intervalMs: settings.intervalMs });
  loop.start();
  if (!settings.followCommits) return { loop, commits: undefined };
  const commits = new CommitCheckpoints(core, metrics, loop.times, config.clusters, {
    coalesceMs: settings.coalesceMs,
  });
  commits.sync(flows);
  commits.start();
  core.pendingCommits = commits;
  return { loop, commits };
}
