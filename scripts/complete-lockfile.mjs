#!/usr/bin/env node
// The npm registry this project is built against serves only the Linux builds of packages that
// ship one optional package per platform (@biomejs/cli-*, @bufbuild/buf-*), so `npm install`
// cannot describe the others in package-lock.json, and `npm ci` then refuses the lock as out of
// sync. This adds the missing entries with the os/cpu/libc their names state: npm ci skips them on
// any other platform, and a machine of that platform with a full registry fetches them by version.
// Run after `npm install` whenever the lock changed: node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const lockPath = join(dirname(fileURLToPath(import.meta.url)), "..", "package-lock.json");
const lock = JSON.parse(readFileSync(lockPath, "utf8"));
const packages = lock.packages;

const OS = {
  android: "android",
  darwin: "darwin",
  linux: "linux",
  win32: "win32",
  freebsd: "freebsd",
};
const CPU = {
  arm64: "arm64",
  x64: "x64",
  armv7: "arm",
  arm: "arm",
  ia32: "ia32",
  s390x: "s390x",
  ppc64: "ppc64",
};

function platformOf(name) {
  const parts = name.split("/").pop().split("-");
  const os = parts.find((part) => OS[part] !== undefined);
  const cpu = parts.find((part) => CPU[part] !== undefined);
  if (os === undefined || cpu === undefined) return undefined;
  return { os: [OS[os]], cpu: [CPU[cpu]], ...(parts.includes("musl") ? { libc: ["musl"] } : {}) };
}

let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const where = `${path === "" ? "" : `${path}/`}node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (packages[where] !== undefined || packages[hoisted] !== undefined) continue;
    const platform = platformOf(name);
    if (platform === undefined || !/^\d+\.\d+\.\d+/.test(range)) {
      console.error(
        `cannot complete ${name}@${range} (needed by ${path || "the root"}): add it by hand`,
      );
      process.exitCode = 1;
      continue;
    }
    packages[hoisted] = {
      version: range,
      ...platform,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      license: entry.license,
    };
    added += 1;
  }
}
// Keep npm's own ordering (sorted paths) so the next `npm install` rewrites nothing.
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
);
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: added ${added} platform-specific optional package(s)`);
