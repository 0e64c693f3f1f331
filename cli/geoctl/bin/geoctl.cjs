#!/usr/bin/env node
// geoctl's executable (`npx geoctl` after `npm ci`). npm ci does not compile TypeScript, so the
// first run builds this package (tsc -b, a few seconds) when its output is missing.
"use strict";
const { existsSync } = require("node:fs");
const { join } = require("node:path");
const { spawnSync } = require("node:child_process");

const pkg = join(__dirname, "..");
const main = join(pkg, "dist", "main.js");
if (!existsSync(main)) {
  process.stderr.write("geoctl: first run, building it (tsc -b cli/geoctl)…\n");
  const tsc = require.resolve("typescript/bin/tsc");
  const built = spawnSync(process.execPath, [tsc, "-b", pkg], { stdio: "inherit" });
  if (built.status !== 0) {
    process.stderr.write("geoctl: the build failed; run `npx tsc -b cli/geoctl` to see why\n");
    process.exit(1);
  }
}
require(main);
