// Shared by the scripts that generate committed docs: write `text` to `target`, or with --check
// fail when the committed file differs (as scripts/check-generated.mjs does for the protos).
import { readFileSync, writeFileSync } from "node:fs";

export function writeOrCheck(target, text, regenerate) {
  if (!process.argv.includes("--check")) {
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
    return;
  }
  let committed = "";
  try {
    committed = readFileSync(target, "utf8");
  } catch {}
  if (committed !== text) {
    console.error(`${target} is out of date: run ${regenerate}`);
    process.exit(1);
  }
  console.log(`${target} is up to date`);
}
