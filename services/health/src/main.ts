// Entry point of the health/failover service: telemetry starts before the service's modules load.
import { bootService } from "@geo/service-runtime/boot";

bootService({
  service: "health",
  start: (context) =>
    (require("./health-service") as typeof import("./health-service")).startHealth(context),
});
