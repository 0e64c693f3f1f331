// Writes docs/guides/geoctl-reference.md from geoctl's command tree (build first: npx tsc -b cli/geoctl).
// `--check` fails when the committed file differs, as the generated-code check does for protos.
import { createRequire } from "node:module";
import { join } from "node:path";
import { writeOrCheck } from "./write-or-check.mjs";

const root = join(import.meta.dirname, "..");
const require = createRequire(import.meta.url);
const { buildProgram, referenceMarkdown } = require(join(root, "cli/geoctl/dist/index.js"));
const target = join(root, "docs/guides/geoctl-reference.md");
const text = referenceMarkdown(buildProgram("0"));
writeOrCheck(target, text, "node scripts/geoctl-reference.mjs");
