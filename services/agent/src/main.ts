// Entry point of a region agent: telemetry starts before the service's modules load.
import { bootService } from "@geo/service-runtime/boot";

bootService({
  service: "agent",
  start: (context) =>
    (require("./agent-service") as typeof import("./agent-service")).startAgent(context),
});
