// Writes docs/guides/geoctl-reference.md from geoctl's command tree (build first: npx tsc -b cli/geoctl).
// `--check` fails when the committed file differs, as the generated-code check does for protos.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const require = createRequire(import.meta.url);
const { buildProgram, referenceMarkdown } = require(join(root, "cli/geoctl/dist/index.js"));
const target = join(root, "docs/guides/geoctl-reference.md");
const text = referenceMarkdown(buildProgram("0"));
if (process.argv.includes("--check")) {
  if (readFileSync(target, "utf8") !== text) {
    console.error(`${target} is out of date: run node scripts/geoctl-reference.mjs`);
    process.exit(1);
  }
  console.log("geoctl reference is up to date");
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
