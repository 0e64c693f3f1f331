// Every configuration the repository ships (config/*.yaml, the compose geo.yaml, the Kubernetes
// ConfigMap's geo.yaml, the YAML examples in the docs) is valid for editors, checked with a real
// JSON Schema validator (ajv) against config/geo.schema.json, and for the services (parseConfig).
// The committed JSON Schema must be what the config schema generates today.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { configJsonSchema, type Env, parseConfig } from "@geo/config";
import Ajv from "ajv";
import { parse, parseAllDocuments } from "yaml";

const root = resolve(__dirname, "..", "..");
const schemaPath = join(root, "config", "geo.schema.json");
const schema = JSON.parse(readFileSync(schemaPath, "utf8")) as Record<string, unknown>;

interface Shipped {
  readonly where: string;
  readonly text: string;
  /** A part of a file (a docs example), not a whole one: keys may be missing. */
  readonly fragment: boolean;
}

function files(dir: string, suffix: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name === "dist") return [];
    if (statSync(path).isDirectory()) return files(path, suffix);
    return name.endsWith(suffix) ? [path] : [];
  });
}

function shippedConfigs(): Shipped[] {
  const whole = (path: string): Shipped => ({
    where: relative(root, path),
    text: readFileSync(path, "utf8"),
    fragment: false,
  });
  const configs = readdirSync(join(root, "config"))
    .filter((name) => name.endsWith(".yaml"))
    .map((name) => whole(join(root, "config", name)));
  const compose = whole(join(root, "deploy", "compose", "geo.yaml"));
  const configMaps = files(join(root, "deploy", "kubernetes"), ".yaml").flatMap((path) =>
    parseAllDocuments(readFileSync(path, "utf8"))
      .map((doc) => doc.toJS() as { kind?: string; data?: Record<string, string> } | null)
      .filter((doc) => doc?.kind === "ConfigMap" && typeof doc.data?.["geo.yaml"] === "string")
      .map((doc) => ({
        where: `${relative(root, path)} (ConfigMap geo.yaml)`,
        text: doc!.data!["geo.yaml"]!,
        fragment: false,
      })),
  );
  return [...configs, compose, ...configMaps, ...docsExamples()];
}

/** ```yaml blocks of the docs whose top-level keys are all configuration sections. */
function docsExamples(): Shipped[] {
  const sections = Object.keys(schema.properties as object);
  const docs = [
    join(root, "README.md"),
    ...files(join(root, "docs"), ".md"),
    ...files(join(root, "services"), "README.md"),
    ...files(join(root, "deploy"), "README.md"),
  ];
  return docs.flatMap((path) =>
    [...readFileSync(path, "utf8").matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap((match, i) => {
      const text = match[1]!;
      let data: unknown;
      try {
        data = parse(text);
      } catch {
        return [];
      }
      if (data === null || typeof data !== "object" || Array.isArray(data)) return [];
      if (!Object.keys(data).every((key) => sections.includes(key))) return [];
      return [{ where: `${relative(root, path)} (yaml example ${i + 1})`, text, fragment: true }];
    }),
  );
}

/** Plausible values for the variables the shipped files leave to the deployment. */
const deploymentEnv: Env = new Proxy({} as Record<string, string | undefined>, {
  get: (_, name) => {
    if (typeof name !== "string" || name.startsWith("GEO_")) return undefined;
    if (name.endsWith("BOOTSTRAP")) return "kafka-1.example.com:9093,kafka-2.example.com:9093";
    if (name === "REDIS_URL") return "redis://redis.example.com:6379";
    if (name.endsWith("_ADDRESS") || name.endsWith("_LISTEN")) return "geo.example.com:7100";
    return "placeholder-value-0123456789";
  },
});

// Examples show a section or a flow file; the clusters they name are the guides' (the demo's three).
const EXAMPLE_CLUSTERS = {
  "us-east": { bootstrapServers: ["kafka-1.us-east.example.com:9092"] },
  "eu-west": { bootstrapServers: ["kafka-1.eu-west.example.com:9092"] },
  "ap-south": { bootstrapServers: ["kafka-1.ap-south.example.com:9092"] },
};

function ajvValidator(forFragments: boolean) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  return ajv.compile(forFragments ? { ...schema, required: [] } : schema);
}

describe("config/geo.schema.json", () => {
  it("is what the config schema generates (node scripts/config-schema.mjs)", () => {
    assert.deepEqual(schema, JSON.parse(JSON.stringify(configJsonSchema())));
  });

  it("accepts every shipped configuration, and so does the services' parser", () => {
    const shipped = shippedConfigs();
    const wholeFiles = shipped.filter((file) => !file.fragment).length;
    assert.ok(wholeFiles >= 4, `found only ${wholeFiles} whole config files`);
    assert.ok(shipped.length > wholeFiles, "found no docs example to check");
    const validate = { whole: ajvValidator(false), fragment: ajvValidator(true) };
    for (const file of shipped) {
      const data = parse(file.text) as Record<string, unknown>;
      const check = file.fragment ? validate.fragment : validate.whole;
      assert.ok(
        check(data),
        `${file.where}: ${JSON.stringify(check.errors?.slice(0, 5), null, 2)}`,
      );
      const text =
        file.fragment && data.clusters === undefined
          ? JSON.stringify({ clusters: EXAMPLE_CLUSTERS, ...data })
          : file.text;
      assert.doesNotThrow(
        () => parseConfig(text, { env: deploymentEnv, source: file.where }),
        file.where,
      );
    }
  });

  it("rejects what the parser rejects for editors: unknown keys, wrong types, values out of range", () => {
    const validate = ajvValidator(false);
    const bad = [
      "clustres: {}\nclusters: { a: { bootstrapServers: [a:9092] } }",
      "clusters: { a: { bootstrapServers: [a:9092], sasl: { mechanism: kerberos } } }",
      "clusters: { a: { bootstrapServers: [a:9092] } }\nleases: { ttlMs: 90000 }",
      "clusters: { a: { bootstrapServers: [a:9092] } }\nflows: [{ source: a, target: b, paused: maybe }]",
      "flows: []",
    ];
    for (const text of bad) assert.equal(validate(parse(text)), false, text);
    const interpolated =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the text is about the ${VAR} syntax
      'clusters: { a: { bootstrapServers: "${BOOT}" } }\nleases: { ttlMs: "${TTL:-5000}" }';
    assert.ok(validate(parse(interpolated)), JSON.stringify(validate.errors));
  });
});
