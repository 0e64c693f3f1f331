import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "./config-error";
import { parseConfig } from "./parse-config";

const BASE = `
clusters:
  us-east: { bootstrapServers: ["127.0.0.1:19092"] }
  eu-west: { bootstrapServers: ["127.0.0.1:29092"], region: europe }
  ap-south: { bootstrapServers: ["127.0.0.1:39092"] }
flows:
  - { name: east-west, source: us-east, target: eu-west }
  - { name: west-east, source: eu-west, target: us-east }
  - { name: east-ap, source: us-east, target: ap-south }
`;

function issues(text: string): string[] {
  try {
    parseConfig(text, { env: {} });
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  assert.fail("expected a ConfigError");
}

describe("flowGroups", () => {
  it("defaults to none, and the region store to __geo.regions", () => {
    const config = parseConfig(BASE, { env: {} });
    assert.deepEqual(config.flowGroups, []);
    assert.deepEqual(config.regionStore, { topic: "__geo.regions" });
  });

  it("takes a pair by clusters, with defaults, the first cluster's region active", () => {
    const config = parseConfig(
      `${BASE}flowGroups:\n  - { name: orders, clusters: [us-east, eu-west] }\n`,
      {
        env: {},
      },
    );
    assert.deepEqual(config.flowGroups, [
      {
        name: "orders",
        clusters: ["us-east", "eu-west"],
        flows: [],
        initialActive: "us-east",
        consumerGroups: [],
        drainTimeoutMs: 60_000,
        catchUpTimeoutMs: 600_000,
        failoverAfterProbeFailures: 3,
        autoFailover: { enabled: false, unreachableForMs: 60_000 },
        passiveProtection: { reconcileIntervalMs: 10_000 },
      },
    ]);
  });

  it("derives the pair from named flows and accepts an alias or a region as initialActive", () => {
    const config = parseConfig(
      `${BASE}flowGroups:
  - name: orders
    flows: [east-west, west-east]
    initialActive: eu-west
    consumerGroups: [billing, shipping]
  - { name: other, clusters: [us-east, eu-west], initialActive: europe }
regionStore: { topic: ops.regions }
`,
      { env: {} },
    );
    assert.deepEqual(config.flowGroups[0]?.clusters, ["us-east", "eu-west"]);
    assert.equal(config.flowGroups[0]?.initialActive, "europe");
    assert.deepEqual(config.flowGroups[0]?.consumerGroups, ["billing", "shipping"]);
    assert.equal(config.flowGroups[1]?.initialActive, "europe");
    assert.equal(config.regionStore.topic, "ops.regions");
  });

  it("refuses unknown clusters and flows, three clusters, one region, duplicates", () => {
    const found = issues(`${BASE}flowGroups:
  - { name: a, clusters: [us-east, eu-wst] }
  - { name: b, flows: [east-west, east-ap] }
  - { name: c, clusters: [us-east, eu-west], flows: [east-ap] }
  - { name: d, clusters: [us-east, eu-west], initialActive: mars }
  - { name: d, clusters: [us-east, eu-west] }
  - { name: e }
`);
    const text = found.join("\n");
    assert.match(text, /flowGroups\[0\]\.clusters\[1\]: unknown cluster "eu-wst"/);
    assert.match(text, /flowGroups\[1\]\.clusters: the group's flows connect 3 clusters/);
    assert.match(
      text,
      /flowGroups\[2\]\.flows\[0\]: flow "east-ap" runs us-east -> ap-south, outside/,
    );
    assert.match(text, /flowGroups\[3\]\.initialActive: "mars" is not a region of the group/);
    assert.match(text, /flowGroups\[4\]\.name: duplicate flow group name "d"/);
    assert.match(text, /flowGroups\[5\]\.clusters: is required/);
  });

  it("takes autoFailover (off by default) and refuses bad values", () => {
    const config = parseConfig(
      `${BASE}flowGroups:\n  - { name: orders, clusters: [us-east, eu-west], autoFailover: { enabled: true, unreachableForMs: 8000 } }\n`,
      { env: {} },
    );
    assert.deepEqual(config.flowGroups[0]?.autoFailover, { enabled: true, unreachableForMs: 8000 });
    const text = issues(`${BASE}flowGroups:
  - { name: a, clusters: [us-east, eu-west], autoFailover: { enabled: yes, unreachableForMs: 10 } }
  - { name: b, clusters: [us-east, eu-west], autoFailover: { after: 5 } }
`).join("\n");
    assert.match(text, /flowGroups\[0\]\.autoFailover\.enabled: must be true or false/);
    assert.match(
      text,
      /flowGroups\[0\]\.autoFailover\.unreachableForMs: is 10, must be between 1000 and 86400000 ms/,
    );
    assert.match(text, /flowGroups\[1\]\.autoFailover\.after/);
  });

  it("keeps passive protection every 10 s by default, 0 turns it off, a tight loop is refused", () => {
    const config = parseConfig(
      `${BASE}flowGroups:
  - { name: a, clusters: [us-east, eu-west], passiveProtection: { reconcileIntervalMs: 0 } }
  - { name: b, clusters: [us-east, eu-west], passiveProtection: { reconcileIntervalMs: 2000 } }
`,
      { env: {} },
    );
    assert.deepEqual(
      config.flowGroups.map((g) => g.passiveProtection.reconcileIntervalMs),
      [0, 2000],
    );
    const text = issues(`${BASE}flowGroups:
  - { name: a, clusters: [us-east, eu-west], passiveProtection: { reconcileIntervalMs: 50 } }
  - { name: b, clusters: [us-east, eu-west], passiveProtection: { everyMs: 5 } }
`).join("\n");
    assert.match(
      text,
      /flowGroups\[0\]\.passiveProtection\.reconcileIntervalMs: is 50 ms: use 0 \(only transitions move the protection\) or at least 500 ms/,
    );
    assert.match(text, /flowGroups\[1\]\.passiveProtection\.everyMs/);
  });

  it("refuses two clusters of one region", () => {
    const text = issues(`
clusters:
  a: { bootstrapServers: ["127.0.0.1:1"], region: r1 }
  b: { bootstrapServers: ["127.0.0.1:2"], region: r1 }
flowGroups:
  - { name: g, clusters: [a, b] }
`).join("\n");
    assert.match(text, /both in region "r1"/);
  });
});
