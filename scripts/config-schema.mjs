// Writes config/geo.schema.json, the JSON Schema editors check geo.yaml against, from the schema in
// libs/config/src/schema (build first: npx tsc -b libs/config). `--check` fails when the committed
// file differs; scripts/check-generated.mjs runs it that way, so the file cannot go stale.
import { createRequire } from "node:module";
import { join } from "node:path";
import { writeOrCheck } from "./write-or-check.mjs";

const root = join(import.meta.dirname, "..");
const require = createRequire(import.meta.url);
const { configJsonSchema } = require(join(root, "libs/config/dist/index.js"));
const target = join(root, "config/geo.schema.json");
writeOrCheck(
  target,
  `${JSON.stringify(configJsonSchema(), null, 2)}\n`,
  "npx tsc -b libs/config && node scripts/config-schema.mjs",
);
