// Entry point of the all-in-one process: telemetry starts before the services' modules load.
import { bootService } from "@geo/service-runtime/boot";

bootService({
  service: "all-in-one",
  start: (context) =>
    (require("./all-in-one") as typeof import("./all-in-one")).startAllInOne(context),
});
