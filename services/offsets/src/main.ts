// Entry point of the offset-translation service: telemetry starts before the service's modules load.
import { bootService } from "@geo/service-runtime/boot";

bootService({
  service: "offsets",
  start: (context) =>
    (require("./offsets-service") as typeof import("./offsets-service")).startOffsets(context),
});
