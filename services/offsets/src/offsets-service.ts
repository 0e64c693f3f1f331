import { createClusterAdmin } from "@geo/kafka";
import { OffsetTranslationService } from "@geo/proto";
import {
  kafkaClusterProbe,
  type RunningService,
  type ServiceContext,
  serveService,
} from "@geo/service-runtime";

/**
 * The offset-translation service reads the offset maps the agents write into each target cluster
 * and consumer group offsets from the sources, so its health follows every configured cluster.
 * Translation itself arrives with the offset-translation work: until then every method of
 * OffsetTranslationService answers UNIMPLEMENTED, naming the method.
 */
export async function startOffsets(context: ServiceContext): Promise<RunningService> {
  const { config, logger } = context;
  const clusters = Object.values(config.clusters).map((cluster) =>
    createClusterAdmin(cluster, { clientId: "geo-offsets", logger }),
  );
  return serveService({
    context,
    listen: config.services.offsets.listen,
    metricsListen: config.services.offsets.metricsListen,
    probes: clusters.map((cluster) => kafkaClusterProbe(cluster)),
    register: (server) => server.addService(OffsetTranslationService, {}),
    close: async () => {
      await Promise.all(clusters.map((cluster) => cluster.close()));
    },
  });
}
