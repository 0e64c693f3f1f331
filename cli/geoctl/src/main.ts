// geoctl's entry point (bin/geoctl.cjs loads it).
import { runGeoctl } from "./program";

const { version } = require("../package.json") as { version: string };

void runGeoctl(process.argv, version);
