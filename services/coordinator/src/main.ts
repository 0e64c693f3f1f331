// Entry point of the coordinator process: telemetry starts before the service's modules load.
import { bootService } from "@geo/service-runtime/boot";

bootService({
  service: "coordinator",
  start: (context) =>
    (require("./coordinator-service") as typeof import("./coordinator-service")).startCoordinator(
      context,
    ),
});
