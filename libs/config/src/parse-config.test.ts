import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "./config-error";
import { parseConfig, validateFlows } from "./parse-config";

const TWO_CLUSTERS = `
clusters:
  us-east:
    bootstrapServers: ["127.0.0.1:19092"]
  eu-west:
    bootstrapServers: ["127.0.0.1:29092"]
`;

function parseError(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    parseConfig(text, { env, source: "test.yaml" });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.equal(error.code, "INVALID_CONFIG");
    assert.equal(error.retriable, false);
    return error;
  }
  assert.fail("expected parseConfig to throw");
}

function issueAt(error: ConfigError, path: string) {
  const issue = error.issues.find((candidate) => candidate.path === path);
  assert.ok(issue, `no issue at ${path}; issues: ${JSON.stringify(error.issues, null, 2)}`);
  return issue;
}

describe("parseConfig", () => {
  it("fills every default and freezes the result", () => {
    const config = parseConfig(
      `${TWO_CLUSTERS}
flows:
  - source: us-east
    target: eu-west
  - name: back
    source: eu-west
    target: us-east
    naming: identity
`,
      { env: {}, source: "demo.yaml" },
    );
    assert.equal(config.source, "demo.yaml");
    assert.deepEqual(config.clusters["us-east"], {
      alias: "us-east",
      region: "us-east",
      bootstrapServers: ["127.0.0.1:19092"],
    });
    assert.deepEqual(config.flows[0], {
      name: "us-east->eu-west",
      source: "us-east",
      target: "eu-west",
      topics: { include: [".*"], exclude: [] },
      naming: "prefix",
      provenanceHeader: false,
      startFrom: "earliest",
      onOffsetOutOfRange: "fail",
      paused: false,
      groups: { include: [".*"], exclude: ["console-consumer-.*", "connect-.*", "__.*"] },
      syncGroupOffsets: true,
    });
    assert.equal(
      config.flows[1]?.provenanceHeader,
      true,
      "identity naming defaults to a provenance header",
    );
    assert.deepEqual(config.redis, { url: "redis://127.0.0.1:6379", keyPrefix: "geo:" });
    assert.deepEqual(config.services, {
      coordinator: {
        listen: "0.0.0.0:7100",
        address: "127.0.0.1:7100",
        metricsListen: "0.0.0.0:7101",
      },
      offsets: {
        listen: "0.0.0.0:7200",
        address: "127.0.0.1:7200",
        metricsListen: "0.0.0.0:7201",
        checkpoints: { intervalMs: 4000, followCommits: true, coalesceMs: 250 },
      },
      health: { listen: "0.0.0.0:7300", address: "127.0.0.1:7300", metricsListen: "0.0.0.0:7301" },
      agent: { listen: "0.0.0.0:7400", metricsListen: "0.0.0.0:7401" },
    });
    assert.deepEqual(config.leases, {
      ttlMs: 10000,
      renewIntervalMs: 3333,
      safetyMarginMs: 2000,
      graceMs: 1000,
    });
    assert.deepEqual(config.discovery, { intervalMs: 2000 });
    assert.deepEqual(config.logging, { level: "info" });
    assert.deepEqual(config.telemetry, { enabled: false, otlpEndpoint: "http://127.0.0.1:4317" });
    assert.deepEqual(config.grpc, {
      defaultDeadlineMs: 10000,
      maxMessageBytes: 4194304,
      maxCallMs: 300000,
    });

    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.flows[0]?.topics.include));
    assert.ok(Object.isFrozen(config.clusters["us-east"]?.bootstrapServers));
    assert.throws(() => {
      (config.logging as { level: string }).level = "debug";
    }, TypeError);
  });

  it("keeps explicit values, scales lease defaults to short TTLs, accepts TLS, SASL and Sentinel", () => {
    const config = parseConfig(
      `
clusters:
  us-east:
    region: america
    bootstrapServers: "k1:9093, k2:9093"
    tls: { caFile: ca.pem, certFile: /abs/cert.pem, keyFile: key.pem }
    sasl: { mechanism: SCRAM-SHA-512, username: geo, password: 123456 }
  eu-west:
    bootstrapServers: ["[::1]:9092"]
    tls: true
redis:
  sentinels: ["s1:26379", { host: s2 }]
  sentinelName: geo-master
  password: pw
leases: { ttlMs: 3000 }
telemetry: { otlpEndpoint: "http://collector:4317", serviceName: svc, traceBatchesOneIn: 10 }
services:
  coordinator: { listen: "10.0.0.1:9100" }
`,
      { env: {}, baseDir: "/etc/geo" },
    );
    const east = config.clusters["us-east"]!;
    assert.equal(east.region, "america");
    assert.deepEqual(east.bootstrapServers, ["k1:9093", "k2:9093"]);
    assert.deepEqual(east.tls, {
      enabled: true,
      caFile: "/etc/geo/ca.pem",
      certFile: "/abs/cert.pem",
      keyFile: "/etc/geo/key.pem",
      rejectUnauthorized: true,
    });
    assert.deepEqual(east.sasl, {
      mechanism: "scram-sha-512",
      username: "geo",
      password: "123456",
    });
    assert.deepEqual(config.clusters["eu-west"]?.tls, { enabled: true, rejectUnauthorized: true });
    assert.deepEqual(config.redis.sentinels, [
      { host: "s1", port: 26379 },
      { host: "s2", port: 26379 },
    ]);
    assert.equal(config.redis.sentinelName, "geo-master");
    assert.deepEqual(config.leases, {
      ttlMs: 3000,
      renewIntervalMs: 1000,
      safetyMarginMs: 750,
      graceMs: 1000,
    });
    assert.deepEqual(config.telemetry, {
      enabled: true,
      otlpEndpoint: "http://collector:4317",
      serviceName: "svc",
      traceBatchesOneIn: 10,
    });
    assert.deepEqual(config.services.coordinator, {
      listen: "10.0.0.1:9100",
      address: "10.0.0.1:9100",
      metricsListen: "10.0.0.1:9101",
    });
  });

  it("reports broken YAML with its line and column, without echoing the line", () => {
    const error = parseError(`clusters:
  us-east:
    bootstrapServers: ["a:1"
    sasl: { password: hunter2-secret }
`);
    assert.ok(error.issues.length >= 1);
    const first = error.issues[0]!;
    assert.equal(first.path, "");
    assert.match(first.message, /not valid YAML/);
    assert.equal(typeof first.line, "number");
    assert.ok(first.line! >= 3, `line ${first.line}`);
    assert.match(error.message, /test\.yaml/);
    assert.match(error.message, /line \d+, column \d+/);
    assert.doesNotMatch(error.message, /hunter2-secret/);
  });

  it("names flows[0].source, the known aliases and a likely fix for an unknown cluster", () => {
    const error = parseError(`${TWO_CLUSTERS}
flows:
  - source: us-est
    target: eu-west
`);
    const issue = issueAt(error, "flows[0].source");
    assert.match(issue.message, /unknown cluster "us-est"/);
    assert.match(issue.message, /known clusters: eu-west, us-east/);
    assert.match(issue.message, /did you mean "us-east"/);
    assert.equal(issue.line, 9);
    assert.match(error.message, /flows\[0\]\.source \(line 9, column \d+\): unknown cluster/);
  });

  it("keeps API flows in the first cluster unless flowStore names one, and refuses an unknown one", () => {
    const defaulted = parseConfig(TWO_CLUSTERS, { env: {}, source: "a.yaml" });
    assert.deepEqual(defaulted.flowStore, { cluster: "us-east", topic: "__geo.flows" });
    const named = parseConfig(
      `${TWO_CLUSTERS}flowStore: { cluster: eu-west, topic: ops.flows }\n`,
      {
        env: {},
        source: "b.yaml",
      },
    );
    assert.deepEqual(named.flowStore, { cluster: "eu-west", topic: "ops.flows" });
    const issue = issueAt(
      parseError(`${TWO_CLUSTERS}flowStore: { cluster: eu-wst }\n`),
      "flowStore.cluster",
    );
    assert.match(issue.message, /unknown cluster "eu-wst".*did you mean "eu-west"/);
  });

  it("quotes an invalid regex and the JavaScript error at flows[0].topics.include[0]", () => {
    const error = parseError(`${TWO_CLUSTERS}
flows:
  - source: us-east
    target: eu-west
    topics:
      include: ["orders(", "ok"]
      exclude: "[z-a]"
`);
    const include = issueAt(error, "flows[0].topics.include[0]");
    assert.match(
      include.message,
      /invalid regular expression "orders\(": Invalid regular expression: .*Unterminated group/,
    );
    const exclude = issueAt(error, "flows[0].topics.exclude");
    assert.match(exclude.message, /"\[z-a\]".*Range out of order/);
    assert.equal(error.issues.length, 2);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the text is about the ${VAR} syntax
  it("interpolates ${VAR} and ${VAR:-default} in string values, and $${ as a literal", () => {
    const config = parseConfig(
      `
clusters:
  us-east:
    bootstrapServers: ["\${EAST_HOST}:\${EAST_PORT:-9092}"]
    sasl: { mechanism: plain, username: "\${USER_NAME:-geo}", password: "\${KAFKA_PASSWORD}" }
leases:
  ttlMs: \${TTL:-5000}
redis:
  keyPrefix: "$\${literal}"
`,
      { env: { EAST_HOST: "kafka-east", KAFKA_PASSWORD: "s3cret", USER_NAME: "" } },
    );
    assert.deepEqual(config.clusters["us-east"]?.bootstrapServers, ["kafka-east:9092"]);
    assert.equal(
      config.clusters["us-east"]?.sasl?.username,
      "geo",
      "an empty variable takes the default",
    );
    assert.equal(config.clusters["us-east"]?.sasl?.password, "s3cret");
    assert.equal(config.leases.ttlMs, 5000, "numbers may come from the environment");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the text is about the ${VAR} syntax
    assert.equal(config.redis.keyPrefix, "${literal}");
  });

  it("names the field and the variable when a variable without default is missing", () => {
    const error = parseError(`
clusters:
  us-east:
    bootstrapServers: ["k:9092"]
    sasl: { mechanism: plain, username: geo, password: "\${KAFKA_PASSWORD}" }
`);
    const issue = issueAt(error, "clusters.us-east.sasl.password");
    assert.match(issue.message, /KAFKA_PASSWORD/);
    assert.match(issue.message, /not set/);
    assert.equal(issue.line, 5);
    assert.equal(error.issues.length, 1, "the missing value is not reported twice");
  });

  it("lets GEO_* overrides win over the file and over interpolated values", () => {
    const text = `${TWO_CLUSTERS}
logging: { level: "\${LEVEL:-warn}" }
redis: { url: "redis://file-host:6379" }
services:
  agent: { region: us-east, id: from-file }
`;
    const fromFile = parseConfig(text, { env: { LEVEL: "error" } });
    assert.equal(fromFile.logging.level, "error");
    assert.equal(fromFile.services.agent.region, "us-east");

    const overridden = parseConfig(text, {
      env: {
        LEVEL: "error",
        GEO_LOG_LEVEL: "debug",
        GEO_REDIS_URL: "redis://env-host:6380/2",
        GEO_OTLP_ENDPOINT: "http://otel:4317",
        GEO_AGENT_REGION: "eu-west",
        GEO_AGENT_ID: "agent-7",
      },
    });
    assert.equal(overridden.logging.level, "debug");
    assert.equal(overridden.redis.url, "redis://env-host:6380/2");
    assert.deepEqual(overridden.telemetry, { enabled: true, otlpEndpoint: "http://otel:4317" });
    assert.deepEqual(overridden.services.agent, {
      listen: "0.0.0.0:7400",
      metricsListen: "0.0.0.0:7401",
      region: "eu-west",
      id: "agent-7",
    });

    const empty = parseConfig(text, { env: { GEO_LOG_LEVEL: "" } });
    assert.equal(empty.logging.level, "warn", "an empty override counts as unset");

    const bad = parseError(text, { GEO_LOG_LEVEL: "verbose", GEO_AGENT_REGION: "ap-south" });
    assert.match(issueAt(bad, "logging.level").message, /"verbose".*set by GEO_LOG_LEVEL/);
    assert.match(
      issueAt(bad, "services.agent.region").message,
      /unknown region "ap-south".*eu-west, us-east/,
    );
  });

  it("reports every problem at once", () => {
    const error = parseError(`
clustres: {}
clusters:
  US_East:
    bootstrapServers: ["no-port", "host:99999"]
  eu-west:
    bootstrapServers: ["ok:9092"]
flows:
  - name: same
    source: eu-west
    target: eu-west
  - name: same
    source: eu-west
    target: US_East
    naming: mirror
leases: { ttlMs: 90000, renewIntervalMs: 9000 }
logging: { levle: debug }
`);
    const paths = error.issues.map((issue) => issue.path);
    for (const expected of [
      "clustres",
      "clusters.US_East",
      "clusters.US_East.bootstrapServers[0]",
      "clusters.US_East.bootstrapServers[1]",
      "flows[0].target",
      "flows[1].name",
      "flows[1].naming",
      "leases.ttlMs",
      "logging.levle",
    ]) {
      assert.ok(paths.includes(expected), `missing ${expected} in ${paths.join(", ")}`);
    }
    assert.match(
      issueAt(error, "clustres").message,
      /unknown key "clustres" \(did you mean "clusters"\?\)/,
    );
    assert.match(issueAt(error, "logging.levle").message, /did you mean "level"/);
    assert.match(
      issueAt(error, "clusters.US_East.bootstrapServers[0]").message,
      /"no-port" is not "host:port"/,
    );
    assert.match(issueAt(error, "clusters.US_East.bootstrapServers[1]").message, /port 99999/);
    assert.match(issueAt(error, "flows[0].target").message, /same cluster as source/);
    assert.match(issueAt(error, "flows[1].name").message, /duplicate flow name "same"/);
    assert.match(
      issueAt(error, "flows[1].naming").message,
      /"mirror", must be one of prefix, identity/,
    );
    assert.match(issueAt(error, "leases.ttlMs").message, /90000, must be between 500 and 60000/);
    assert.match(error.message, new RegExp(`test\\.yaml \\(${error.issues.length} problems\\)`));
    assert.equal(issueAt(error, "clustres").line, 2);
  });

  it("rejects flows that could write the same target topics", () => {
    const error = parseError(`
clusters:
  a: { bootstrapServers: ["a:9092"] }
  b: { bootstrapServers: ["b:9092"] }
  c: { bootstrapServers: ["c:9092"] }
flows:
  - { name: a-c, source: a, target: c, naming: identity, topics: { include: ["orders-.*"] } }
  - { name: b-c, source: b, target: c, naming: identity, topics: { include: ["orders-eu-.*"] } }
  - { name: a-c-2, source: a, target: c, topics: { include: ["payments"] } }
  - { name: a-c-3, source: a, target: c, topics: { include: ["pay.*"] } }
`);
    assert.match(
      issueAt(error, "flows[1]").message,
      /"a-c" \(flows\[0\]\) and "b-c" \(flows\[1\]\) both write identity-named topics into cluster "c"/,
    );
    const prefixCollision = issueAt(error, "flows[3]").message;
    assert.match(prefixCollision, /both copy "a" into "c" and both select topic "payments"/);
    // Both are prefix flows already: the hint must not suggest naming: prefix.
    assert.doesNotMatch(prefixCollision, /naming: prefix/);
    assert.match(prefixCollision, /topics\.exclude/);
    assert.equal(error.issues.length, 2);
  });

  it("accepts flows whose targets cannot collide", () => {
    const config = parseConfig(
      `
clusters:
  a: { bootstrapServers: ["a:9092"] }
  b: { bootstrapServers: ["b:9092"] }
  c: { bootstrapServers: ["c:9092"] }
flows:
  - { name: a-c, source: a, target: c, naming: identity, topics: { include: ["orders-us-.*"] } }
  - { name: b-c, source: b, target: c, naming: identity, topics: { include: ["orders-eu-.*"] } }
  - { name: a-c-p, source: a, target: c }
  - { name: b-c-p, source: b, target: c }
  - { name: a-b, source: a, target: b, naming: identity }
  - { name: b-a, source: b, target: a, naming: identity }
`,
      { env: {} },
    );
    assert.equal(config.flows.length, 6);
  });

  it("refuses identity flows both ways without a provenance header", () => {
    const error = parseError(`${TWO_CLUSTERS}
flows:
  - { source: us-east, target: eu-west, naming: identity, provenanceHeader: false }
  - { source: eu-west, target: us-east, naming: identity }
`);
    assert.match(issueAt(error, "flows[1]").message, /loop between the clusters forever/);
  });

  it("validates leases, TLS pairs, Sentinel and Redis URL", () => {
    const error = parseError(`${TWO_CLUSTERS}
    tls: { certFile: c.pem }
redis:
  url: "http://:topsecret@host"
  sentinels: []
leases: { ttlMs: 6000, safetyMarginMs: 2000, renewIntervalMs: 4000 }
telemetry: { otlpEndpoint: "collector:4317", traceBatchesOneIn: -1 }
`);
    assert.match(
      issueAt(error, "clusters.eu-west.tls.keyFile").message,
      /needs both certFile and keyFile/,
    );
    assert.match(issueAt(error, "redis.url").message, /scheme "http:"/);
    assert.match(issueAt(error, "redis.sentinels").message, /is empty/);
    assert.match(
      issueAt(error, "leases.renewIntervalMs").message,
      /less than ttlMs - safetyMarginMs \(4000 ms\)/,
    );
    assert.match(issueAt(error, "telemetry.otlpEndpoint").message, /not an http\(s\) URL/);
    assert.match(issueAt(error, "telemetry.traceBatchesOneIn").message, /between 0 and/);
    assert.doesNotMatch(error.message, /topsecret/);
  });

  it("never puts secret values in error messages", () => {
    const secrets = ["pw-in-file-1", "pw-from-env-2", "pw-in-url-3", "sentinel-pw-4"];
    const error = parseError(
      `
clusters:
  us-east:
    bootstrapServers: ["k:9092"]
    sasl: { mechanism: scram-sha-999, username: geo, password: ${secrets[0]}, pasword: x }
  eu-west:
    bootstrapServers: ["k:9092"]
    sasl: { mechanism: plain, password: "\${ENV_PW}" }
redis:
  url: "redis://user:${secrets[2]}@bad host:6379"
  sentinelPassword: ["${secrets[3]}"]
  password: "\${UNSET_PASSWORD}"
`,
      { ENV_PW: secrets[1]! },
    );
    assert.ok(error.issues.length >= 5, JSON.stringify(error.issues));
    const everything = `${error.message}\n${JSON.stringify(error.issues)}`;
    for (const secret of secrets) assert.ok(!everything.includes(secret), `leaked ${secret}`);
    assert.match(issueAt(error, "redis.password").message, /UNSET_PASSWORD/);
    assert.match(issueAt(error, "clusters.eu-west.sasl.username").message, /required/);
    assert.match(issueAt(error, "clusters.us-east.sasl.mechanism").message, /scram-sha-999/);
  });

  it("requires at least one cluster and a mapping at the top", () => {
    assert.match(issueAt(parseError(""), "clusters").message, /is required/);
    assert.match(parseError("- a\n- b\n").message, /must be a mapping/);
    assert.match(issueAt(parseError("clusters: {}\n"), "clusters").message, /defines no cluster/);
  });
});

describe("validateFlows", () => {
  const clusters = parseConfig(TWO_CLUSTERS, { env: {} }).clusters;

  it("defaults and freezes flows from the admin API", () => {
    const flows = validateFlows(
      [{ source: "us-east", target: "eu-west", topics: { include: ["orders"] } }],
      clusters,
    );
    assert.equal(flows[0]?.name, "us-east->eu-west");
    assert.equal(flows[0]?.naming, "prefix");
    assert.ok(Object.isFrozen(flows[0]));
  });

  it("checks a new flow against the existing ones", () => {
    assert.throws(
      () =>
        validateFlows(
          [
            { name: "file-flow", source: "us-east", target: "eu-west" },
            {
              name: "file-flow",
              source: "eu-west",
              target: "us-east",
              topics: { include: ["bad("] },
            },
            { name: "api-flow", source: "mars", target: "eu-west" },
          ],
          clusters,
          { source: "admin API" },
        ),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.source === "admin API" &&
        error.issues.some((i) => i.path === "flows[1].name" && /duplicate/.test(i.message)) &&
        error.issues.some((i) => i.path === "flows[1].topics.include[0]") &&
        error.issues.some(
          (i) => i.path === "flows[2].source" && /known clusters: eu-west, us-east/.test(i.message),
        ),
    );
  });
});
