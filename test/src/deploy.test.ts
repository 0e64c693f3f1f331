// The deployment artefacts checked against the code, without running them: docker-compose.yml and
// deploy/compose (compose accepts the file, every geo container runs an existing entry point with a
// command line the service accepts, its geo.yaml loads with the environment compose gives it, and
// the addresses and ports in it match compose's services and Prometheus' targets), the Kubernetes
// manifests (they parse, their geo.yaml loads with the environment the pods get, probes and ports
// match the configuration, Services match the configured addresses) and the Grafana dashboard
// (every metric it queries is one the services export today).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Env, type GeoConfig, loadConfig, parseHostPort } from "@geo/config";
import { createMetricsRegistry } from "@geo/metrics";
import { parseServiceArgs } from "@geo/service-runtime/boot";
import { parse, parseAllDocuments } from "yaml";
import { checkKubernetesStrict } from "./support/kubernetes-strict";

const root = resolve(__dirname, "..", "..");
const ENTRY = /^services\/([a-z-]+)\/dist\/main\.js$/;
const HUB = ["coordinator", "offsets", "health"] as const;
type HubService = (typeof HUB)[number];
const GEO_SERVICES = [...HUB, "agent"] as const;
type GeoService = (typeof GEO_SERVICES)[number];

function isGeoService(name: string): name is GeoService {
  return (GEO_SERVICES as readonly string[]).includes(name);
}

function portOf(hostPort: string): number {
  return parseHostPort(hostPort, { allowPortZero: true }).port;
}

/** The gRPC and metrics endpoints a service binds, as loadConfig computed them. */
function endpoints(config: GeoConfig, service: GeoService) {
  const s = config.services[service];
  return { listen: s.listen, metricsListen: s.metricsListen };
}

/**
 * The entry point a container runs, checked against the sources: `services/<x>/dist/main.js`
 * (built into the image) must come from `services/<x>/src/main.ts`, and the rest of the command
 * line must be one the service's own argument parser accepts.
 */
function entryPoint(command: readonly unknown[], where: string) {
  const index = command.findIndex((part) => typeof part === "string" && ENTRY.test(part));
  assert.ok(
    index >= 0,
    `${where}: command ${JSON.stringify(command)} runs no services/*/dist/main.js`,
  );
  const service = ENTRY.exec(command[index] as string)?.[1] ?? "";
  assert.ok(
    existsSync(join(root, "services", service, "src", "main.ts")),
    `${where}: runs services/${service}/dist/main.js but services/${service}/src/main.ts does not exist`,
  );
  assert.ok(isGeoService(service), `${where}: services/${service} is not one of ${GEO_SERVICES}`);
  const argv = command.slice(index + 1).map(String);
  const args = parseServiceArgs(service, argv);
  assert.ok(args.configPath, `${where}: the command passes no --config`);
  return { service, args };
}

/** Env for loadConfig the way bootService builds it: --region/--id win over the environment. */
function bootEnv(env: Env, args: { region: string | undefined; id: string | undefined }): Env {
  return {
    ...env,
    ...(args.region === undefined ? {} : { GEO_AGENT_REGION: args.region }),
    ...(args.id === undefined ? {} : { GEO_AGENT_ID: args.id }),
  };
}

// ---------------------------------------------------------------------------------------------
// docker-compose.yml and deploy/compose

interface ComposeService {
  image?: string;
  hostname?: string;
  command?: string[] | string;
  environment?: Record<string, string | number | null> | string[];
  volumes?: (string | { source?: string; target?: string })[];
  ports?: ({ published?: number | string; target?: number | string } | string)[];
}

function composeEnvironment(service: ComposeService): Record<string, string> {
  const env: Record<string, string> = {};
  const raw = service.environment ?? {};
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      const at = entry.indexOf("=");
      if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
    }
  } else {
    for (const [key, value] of Object.entries(raw)) {
      if (value !== null) env[key] = String(value);
    }
  }
  return env;
}

/** Host path mounted at `target`, from compose's resolved volumes (short or long syntax). */
function mountedFrom(service: ComposeService, target: string): string | undefined {
  for (const volume of service.volumes ?? []) {
    if (typeof volume === "string") {
      const [source, mountTarget] = volume.split(":");
      if (mountTarget === target) return source;
    } else if (volume.target === target) {
      return volume.source;
    }
  }
  return undefined;
}

function containerPorts(service: ComposeService): number[] {
  return (service.ports ?? []).map((port) =>
    typeof port === "string" ? Number(port.split(":").at(-1)?.split("/")[0]) : Number(port.target),
  );
}

function dockerComposeAvailable(): boolean {
  return spawnSync("docker-compose", ["version"], { stdio: "ignore" }).status === 0;
}

/** docker-compose, installed with apt-get when missing (the test suite runs as root). */
function ensureDockerCompose(): void {
  if (dockerComposeAvailable()) return;
  const install = spawnSync(
    "sh",
    ["-c", "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y docker-compose"],
    { encoding: "utf8", timeout: 600_000 },
  );
  if (install.status !== 0 || !dockerComposeAvailable()) {
    const output = `${install.stdout ?? ""}${install.stderr ?? ""}`.trim().split("\n").slice(-15);
    assert.fail(
      [
        "docker-compose is not installed, and installing it failed",
        "(`apt-get update && apt-get install -y docker-compose` needs root and network access;",
        "install it by hand to run these checks).",
        install.error === undefined ? "" : `error: ${install.error.message}`,
        ...output,
      ].join("\n"),
    );
  }
}

function compose(args: readonly string[]) {
  return spawnSync(
    "docker-compose",
    ["--project-directory", root, "-f", "docker-compose.yml", ...args],
    {
      cwd: root,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" },
      timeout: 120_000,
    },
  );
}

describe("docker-compose.yml", () => {
  let services: Record<string, ComposeService>;
  const geo = new Map<
    string,
    { service: GeoService; config: GeoConfig; compose: ComposeService }
  >();

  before(() => {
    ensureDockerCompose();
    const result = compose(["config"]);
    assert.equal(result.status, 0, `docker-compose config failed:\n${result.stderr}`);
    services = (parse(result.stdout) as { services: Record<string, ComposeService> }).services;
  });

  it("is accepted by docker-compose config -q", () => {
    const result = compose(["config", "-q"]);
    assert.equal(result.status, 0, `docker-compose config -q failed:\n${result.stderr}`);
  });

  it("runs every geo service from an existing entry point, with the mounted geo.yaml, which loads", () => {
    const geoYaml = join(root, "deploy", "compose", "geo.yaml");
    for (const [name, service] of Object.entries(services)) {
      const command = Array.isArray(service.command) ? service.command : [];
      if (!command.some((part) => ENTRY.test(part))) continue;
      const where = `compose service ${name}`;
      const { service: kind, args } = entryPoint(command, where);
      const configPath = args.configPath as string;
      const source = mountedFrom(service, configPath);
      assert.equal(
        source,
        geoYaml,
        `${where}: --config ${configPath} is not deploy/compose/geo.yaml`,
      );
      const config = loadConfig({ path: source, env: bootEnv(composeEnvironment(service), args) });
      if (kind === "agent") {
        assert.ok(config.services.agent.region, `${where}: the agent gets no region`);
      } else {
        const published = containerPorts(service);
        for (const port of published) {
          assert.ok(
            [
              portOf(config.services[kind].listen),
              portOf(config.services[kind].metricsListen),
            ].includes(port),
            `${where}: publishes container port ${port}, which ${kind} does not listen on`,
          );
        }
      }
      geo.set(name, { service: kind, config, compose: service });
    }
    assert.deepEqual(
      new Set([...geo.values()].map((entry) => entry.service)),
      new Set(GEO_SERVICES),
      "compose runs each of the four services",
    );
  });

  it("points geo.yaml at compose's hosts: hub addresses, Kafka, Redis and the OTLP collector", () => {
    assert.ok(geo.size > 0, "the previous test found the geo services");
    const hostOf = (name: string) =>
      Object.entries(services).find(([key, s]) => key === name || s.hostname === name)?.[1];
    for (const [name, { config }] of geo) {
      const where = `compose service ${name}`;
      for (const hub of HUB) {
        const { host, port } = parseHostPort(config.services[hub].address);
        const target = geo.get(host);
        assert.ok(
          target?.service === hub,
          `${where}: services.${hub}.address names "${host}", not the ${hub} container`,
        );
        assert.equal(
          port,
          portOf(target.config.services[hub].listen),
          `${where}: services.${hub}.address port`,
        );
      }
      for (const cluster of Object.values(config.clusters)) {
        for (const broker of cluster.bootstrapServers) {
          const kafka = hostOf(parseHostPort(broker).host);
          assert.ok(
            kafka,
            `${where}: cluster ${cluster.alias} broker ${broker} is no compose service`,
          );
          const advertised = composeEnvironment(kafka).KAFKA_ADVERTISED_LISTENERS ?? "";
          assert.ok(
            advertised.split(",").some((listener) => listener.endsWith(`//${broker}`)),
            `${where}: broker ${broker} is not among the advertised listeners "${advertised}"`,
          );
        }
      }
      const redis = new URL(config.redis.url);
      assert.ok(
        hostOf(redis.hostname),
        `${where}: redis.url host ${redis.hostname} is no compose service`,
      );
      if (config.telemetry.enabled) {
        const otlp = new URL(config.telemetry.otlpEndpoint);
        assert.ok(hostOf(otlp.hostname), `${where}: the OTLP endpoint host is no compose service`);
        const collector = parse(
          readFileSync(join(root, "deploy", "compose", "otel-collector.yaml"), "utf8"),
        ) as { receivers: { otlp: { protocols: { grpc: { endpoint: string } } } } };
        assert.equal(
          Number(otlp.port),
          portOf(collector.receivers.otlp.protocols.grpc.endpoint),
          `${where}: the OTLP endpoint port is not the collector's OTLP/gRPC port`,
        );
      }
    }
  });

  it("runs three regions: a Kafka cluster each, and an agent in every flow's target region", () => {
    assert.ok(geo.size > 0, "an earlier test found the geo services");
    const config = [...geo.values()][0]!.config;
    const regions = new Set(Object.values(config.clusters).map((cluster) => cluster.region));
    assert.equal(regions.size, 3, `three regions, found ${[...regions].join(", ")}`);
    const agentRegions = new Set(
      [...geo.values()]
        .filter((entry) => entry.service === "agent")
        .map((entry) => entry.config.services.agent.region),
    );
    for (const flow of config.flows) {
      const target = config.clusters[flow.target]?.region;
      assert.ok(
        target !== undefined && agentRegions.has(target),
        `flow ${flow.name}: no agent runs in its target region ${target}`,
      );
    }
    assert.deepEqual([...agentRegions].sort(), [...regions].sort(), "an agent per region");
    for (const name of ["prometheus", "grafana", "otel-collector"]) {
      assert.ok(services[name], `docker-compose.yml runs ${name}`);
    }
  });

  it("has Prometheus scrape every geo container on its configured metrics port", () => {
    assert.ok(geo.size > 0, "an earlier test found the geo services");
    const prometheus = parse(
      readFileSync(join(root, "deploy", "compose", "prometheus.yml"), "utf8"),
    ) as {
      scrape_configs: { static_configs?: { targets: string[] }[] }[];
    };
    const targets = prometheus.scrape_configs.flatMap((job) =>
      (job.static_configs ?? []).flatMap((group) => group.targets),
    );
    const scraped = new Set<string>();
    for (const target of targets) {
      const { host, port } = parseHostPort(target);
      const entry = geo.get(host);
      assert.ok(
        entry,
        `prometheus.yml: target ${target} is not a geo container in docker-compose.yml`,
      );
      const metricsPort = portOf(endpoints(entry.config, entry.service).metricsListen);
      assert.equal(
        port,
        metricsPort,
        `prometheus.yml: ${target}, but ${host} serves /metrics on ${metricsPort}`,
      );
      scraped.add(host);
    }
    assert.deepEqual([...scraped].sort(), [...geo.keys()].sort(), "every geo container is scraped");
  });

  it("mounts the dashboards folder where Grafana's provisioning looks for it", () => {
    const grafana = services.grafana;
    assert.ok(grafana, "docker-compose.yml has a grafana service");
    const provider = parse(
      readFileSync(
        join(root, "deploy", "grafana", "provisioning", "dashboards", "geo.yaml"),
        "utf8",
      ),
    ) as { providers: { options: { path: string } }[] };
    for (const { options } of provider.providers) {
      assert.equal(
        mountedFrom(grafana, options.path),
        join(root, "deploy", "grafana", "dashboards"),
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------
// deploy/kubernetes

interface K8sContainer {
  name: string;
  command?: string[];
  args?: string[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: {
      fieldRef?: { fieldPath: string };
      secretKeyRef?: { name: string; key: string };
      configMapKeyRef?: { name: string; key: string };
    };
  }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: { grpc?: { port: number } };
  readinessProbe?: { grpc?: { port: number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { runAsNonRoot?: boolean };
  volumeMounts?: { name: string; mountPath: string }[];
}

interface K8sPodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    containers: K8sContainer[];
    securityContext?: { runAsNonRoot?: boolean };
    terminationGracePeriodSeconds?: number;
    volumes?: {
      name: string;
      configMap?: { name: string; items?: { key: string; path: string }[] };
    }[];
  };
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    replicas?: number;
    template?: K8sPodTemplate;
    selector?: Record<string, string> | { matchLabels?: Record<string, string> };
    ports?: { name?: string; port: number; targetPort?: number | string }[];
  };
}

describe("deploy/kubernetes", () => {
  const dir = join(root, "deploy", "kubernetes");
  const objects: K8sObject[] = [];
  let kustomization: { namespace?: string; resources: string[] };
  let tmp: string;
  let geoYamlPath: string;

  const find = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), "geo-deploy-test-"));
    geoYamlPath = join(tmp, "geo.yaml");
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("parses: every document of every file is a Kubernetes object; kustomization lists them all", () => {
    const files = readdirSync(dir).filter((file) => file.endsWith(".yaml"));
    for (const file of files) {
      const documents = parseAllDocuments(readFileSync(join(dir, file), "utf8"), {
        uniqueKeys: true,
      });
      assert.ok(Array.isArray(documents), `${file}: not YAML documents`);
      for (const [index, document] of documents.entries()) {
        const where = `${file} document ${index + 1}`;
        assert.deepEqual(document.errors.map(String), [], `${where}: YAML errors`);
        assert.deepEqual(document.warnings.map(String), [], `${where}: YAML warnings`);
        const value = document.toJS() as K8sObject | null;
        assert.ok(value !== null && typeof value === "object", `${where}: empty document`);
        assert.ok(value.kind && value.apiVersion, `${where}: no kind/apiVersion`);
        if (file === "kustomization.yaml") {
          kustomization = value as unknown as typeof kustomization;
          continue;
        }
        assert.ok(value.metadata?.name, `${where}: no metadata.name`);
        assert.equal(
          find(value.kind, value.metadata.name),
          undefined,
          `${where}: a second ${value.kind} ${value.metadata.name}`,
        );
        objects.push(value);
      }
    }
    assert.ok(kustomization, "kustomization.yaml exists");
    assert.deepEqual(
      [...kustomization.resources].sort(),
      files.filter((file) => file !== "kustomization.yaml").sort(),
      "kustomization.yaml lists every manifest",
    );
    for (const [kind, name] of [
      ["ConfigMap", "geo-config"],
      ["Secret", "geo-secrets"],
      ["Deployment", "coordinator"],
      ["Deployment", "offsets"],
      ["Deployment", "health"],
    ] as const) {
      assert.ok(find(kind, name), `${kind} ${name} exists`);
    }
    assert.equal(find("Deployment", "coordinator")?.spec?.replicas, 2, "coordinator has a standby");
  });

  /**
   * The environment a container gets: envFrom ConfigMaps and Secrets, then env (downward API
   * resolved from the pod template, secret values replaced by dummies).
   */
  function containerEnv(deployment: K8sObject, template: K8sPodTemplate, container: K8sContainer) {
    const where = `Deployment ${deployment.metadata.name} container ${container.name}`;
    const env: Record<string, string> = {};
    const secretKeys = (name: string) => {
      const secret = find("Secret", name);
      assert.ok(secret, `${where}: Secret ${name} does not exist`);
      return [...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})];
    };
    const configMap = (name: string) => {
      const map = find("ConfigMap", name);
      assert.ok(map, `${where}: ConfigMap ${name} does not exist`);
      return map.data ?? {};
    };
    for (const source of container.envFrom ?? []) {
      if (source.configMapRef) Object.assign(env, configMap(source.configMapRef.name));
      if (source.secretRef) {
        for (const key of secretKeys(source.secretRef.name))
          env[key] = `dummy-${key.toLowerCase()}`;
      }
    }
    for (const variable of container.env ?? []) {
      const from = variable.valueFrom;
      if (from === undefined) {
        env[variable.name] = variable.value ?? "";
      } else if (from.secretKeyRef) {
        const { name, key } = from.secretKeyRef;
        assert.ok(secretKeys(name).includes(key), `${where}: Secret ${name} has no key ${key}`);
        env[variable.name] = `dummy-${key.toLowerCase()}`;
      } else if (from.configMapKeyRef) {
        const { name, key } = from.configMapKeyRef;
        const value = configMap(name)[key];
        assert.ok(value !== undefined, `${where}: ConfigMap ${name} has no key ${key}`);
        env[variable.name] = value;
      } else if (from.fieldRef) {
        const path = from.fieldRef.fieldPath;
        const label = /^metadata\.labels\['([^']+)'\]$/.exec(path)?.[1];
        if (path === "metadata.name") {
          env[variable.name] = `${deployment.metadata.name}-7c9d8f6b5d-x2k4q`;
        } else if (path === "metadata.namespace") {
          env[variable.name] = kustomization.namespace ?? "default";
        } else if (label !== undefined) {
          const value = template.metadata?.labels?.[label];
          assert.ok(
            value !== undefined,
            `${where}: ${variable.name} reads label ${label}, which the pod lacks`,
          );
          env[variable.name] = value;
        } else {
          assert.fail(`${where}: ${variable.name}: fieldRef ${path} is not handled by this test`);
        }
      } else {
        assert.fail(`${where}: ${variable.name} has a valueFrom this test does not handle`);
      }
    }
    return env;
  }

  it("runs existing entry points whose mounted geo.yaml loads; probes and ports match it", () => {
    const geoConfig = find("ConfigMap", "geo-config")?.data?.["geo.yaml"];
    assert.ok(geoConfig, "ConfigMap geo-config has a geo.yaml");
    writeFileSync(geoYamlPath, geoConfig);
    const seen = new Set<string>();
    for (const deployment of objects.filter((o) => o.kind === "Deployment")) {
      const template: K8sPodTemplate | undefined = deployment.spec?.template;
      assert.ok(template, `Deployment ${deployment.metadata.name} has a pod template`);
      assert.ok(
        (template.spec.terminationGracePeriodSeconds ?? 30) >= 30,
        `Deployment ${deployment.metadata.name}: terminationGracePeriodSeconds < 30`,
      );
      for (const container of template.spec.containers) {
        const where = `Deployment ${deployment.metadata.name} container ${container.name}`;
        const { service, args } = entryPoint(
          [...(container.command ?? []), ...(container.args ?? [])],
          where,
        );
        seen.add(service);
        // --config must be a file of the geo-config ConfigMap, mounted from its geo.yaml key.
        const configPath = args.configPath as string;
        const mount = container.volumeMounts?.find(
          (m) => posix.dirname(configPath) === m.mountPath.replace(/\/$/, ""),
        );
        assert.ok(mount, `${where}: nothing is mounted at ${posix.dirname(configPath)}`);
        type ConfigMapVolume = NonNullable<K8sPodTemplate["spec"]["volumes"]>[number]["configMap"];
        const volume: ConfigMapVolume = template.spec.volumes?.find(
          (v) => v.name === mount.name,
        )?.configMap;
        assert.equal(volume?.name, "geo-config", `${where}: ${configPath} is not from geo-config`);
        const fileName = posix.basename(configPath);
        const key: string | undefined = volume?.items
          ? volume.items.find((item) => item.path === fileName)?.key
          : fileName;
        assert.equal(key, "geo.yaml", `${where}: ${configPath} is not geo-config's geo.yaml`);

        const env = bootEnv(containerEnv(deployment, template, container), args);
        const config = loadConfig({ path: geoYamlPath, env });
        if (service === "agent") {
          assert.ok(config.services.agent.region, `${where}: the agent gets no region`);
          assert.ok(config.services.agent.id, `${where}: the agent gets no stable id`);
        }
        const { listen, metricsListen } = endpoints(config, service);
        const ports = new Map((container.ports ?? []).map((p) => [p.name, p.containerPort]));
        assert.equal(ports.get("grpc"), portOf(listen), `${where}: port grpc`);
        assert.equal(ports.get("metrics"), portOf(metricsListen), `${where}: port metrics`);
        assert.equal(
          container.livenessProbe?.grpc?.port,
          portOf(listen),
          `${where}: liveness gRPC port`,
        );
        assert.equal(
          container.readinessProbe?.grpc?.port,
          portOf(listen),
          `${where}: readiness gRPC port`,
        );
        const annotations: Record<string, string> = template.metadata?.annotations ?? {};
        assert.equal(annotations["prometheus.io/scrape"], "true", `${where}: prometheus.io/scrape`);
        assert.equal(
          annotations["prometheus.io/port"],
          String(portOf(metricsListen)),
          `${where}: prometheus.io/port`,
        );
        assert.ok(
          container.securityContext?.runAsNonRoot ?? template.spec.securityContext?.runAsNonRoot,
          `${where}: runAsNonRoot`,
        );
        for (const kind of ["requests", "limits"] as const) {
          for (const resource of ["cpu", "memory"]) {
            assert.ok(
              container.resources?.[kind]?.[resource],
              `${where}: resources.${kind}.${resource}`,
            );
          }
        }
        if (service !== "agent") checkHubService(service, deployment, config);
      }
    }
    assert.deepEqual([...seen].sort(), [...GEO_SERVICES].sort(), "a Deployment per service");
  });

  it("validates every object against the Kubernetes JSON schemas (kubernetes-models)", async () => {
    assert.ok(objects.length > 0, "the parse test found the objects");
    // kubernetes-models ships a JSON-schema validator per kind, generated from the Kubernetes
    // OpenAPI spec: types, required fields, enums and formats (unknown fields are not rejected,
    // as with kubeconform without -strict). ESM only, hence import().
    type Kind = new (data: unknown) => { validate(): void };
    const kindOf = async (apiVersion: string, kind: string): Promise<Kind | undefined> => {
      const models = (await import(`kubernetes-models/${apiVersion}`).catch(() => ({}))) as Record<
        string,
        Kind
      >;
      return models[kind];
    };
    const Deployment = await kindOf("apps/v1", "Deployment");
    assert.ok(Deployment, "kubernetes-models has apps/v1 Deployment");
    assert.throws(
      () => new Deployment({ metadata: { name: "x" }, spec: { replicas: "two" } }).validate(),
      /replicas must be integer|must have required property/,
      "the validator rejects a wrong manifest",
    );
    for (const object of objects) {
      const where = `${object.kind} ${object.metadata.name} (${object.apiVersion})`;
      const Model = await kindOf(object.apiVersion, object.kind);
      assert.ok(Model, `${where}: not a kind of the Kubernetes API`);
      try {
        new Model(object).validate();
      } catch (error) {
        assert.fail(`${where}: ${(error as Error).message}`);
      }
    }
  });

  it("rejects unknown fields: every object type-checks against the Kubernetes API types", () => {
    assert.ok(objects.length > 0, "the parse test found the objects");
    const coordinator = find("Deployment", "coordinator");
    assert.ok(coordinator?.spec?.template, "Deployment coordinator exists");
    // A deliberately misspelt copy, checked in the same compiler run, proves the check can fail.
    const misspelt = structuredClone(coordinator);
    misspelt.metadata.name = "misspelt-copy";
    Object.assign(misspelt.spec?.template?.spec.containers[0] ?? {}, { livenesProbe: {} });
    const tsc = join(root, "node_modules", ".bin", "tsc");
    const { problems } = checkKubernetesStrict([...objects, misspelt], join(root, "test"), tsc);
    assert.equal(
      problems.length,
      1,
      `fields the Kubernetes API does not know:\n${problems.join("\n")}`,
    );
    assert.match(problems[0] ?? "", /^Deployment misspelt-copy: .*livenesProbe"?' does not exist/);
  });

  it("runs agents in every flow's target region, the region's Deployments alike but for it", () => {
    const geoConfig = find("ConfigMap", "geo-config")?.data?.["geo.yaml"];
    assert.ok(geoConfig, "ConfigMap geo-config has a geo.yaml");
    writeFileSync(geoYamlPath, geoConfig);
    const REGION = "geo-replication/region";
    const agents = objects.filter(
      (o) =>
        o.kind === "Deployment" &&
        o.spec?.template?.metadata?.labels?.["app.kubernetes.io/component"] === "agent",
    );
    const regionOf = (agent: K8sObject) => agent.spec?.template?.metadata?.labels?.[REGION] ?? "";
    const env = Object.fromEntries(
      Object.keys(find("Secret", "geo-secrets")?.stringData ?? {}).map((key) => [key, "x"]),
    );
    const config = loadConfig({
      path: geoYamlPath,
      env: { ...find("ConfigMap", "geo-env")?.data, ...env },
    });
    const regions = new Set(agents.map(regionOf));
    for (const flow of config.flows) {
      const target = config.clusters[flow.target]?.region ?? "";
      assert.ok(regions.has(target), `flow ${flow.name}: no agent Deployment in region ${target}`);
    }
    // Copies of one Deployment: compared with the region written as a placeholder.
    const normalized = agents.map((agent) =>
      JSON.stringify(agent).replaceAll(regionOf(agent), "<region>"),
    );
    for (const [index, text] of normalized.entries()) {
      assert.equal(text, normalized[0], `Deployment ${agents[index]?.metadata.name} drifted`);
    }
  });

  it("gives every Deployment a PodDisruptionBudget; one with replicas keeps one available", () => {
    const budgets = objects.filter((o) => o.kind === "PodDisruptionBudget");
    for (const deployment of objects.filter((o) => o.kind === "Deployment")) {
      const labels = deployment.spec?.template?.metadata?.labels ?? {};
      const selects = (budget: K8sObject) => {
        const selector = budget.spec?.selector as { matchLabels?: Record<string, string> };
        const match = Object.entries(selector?.matchLabels ?? {});
        return match.length > 0 && match.every(([key, value]) => labels[key] === value);
      };
      const matching = budgets.filter(selects);
      const where = `Deployment ${deployment.metadata.name}`;
      assert.equal(
        matching.length,
        1,
        `${where}: ${matching.length} PodDisruptionBudgets select it`,
      );
      const spec = matching[0]!.spec as { minAvailable?: number | string; maxUnavailable?: number };
      const replicas = deployment.spec?.replicas ?? 1;
      if (replicas > 1) {
        assert.equal(spec.minAvailable, 1, `${where}: ${replicas} replicas, one must stay`);
      } else {
        // A minAvailable 1 budget on a single replica would block every node drain.
        assert.equal(spec.maxUnavailable, 1, `${where}: one replica, a drain may take it`);
      }
    }
  });

  /** The Service named by services.<hub>.address reaches the Deployment's gRPC port. */
  function checkHubService(hub: HubService, deployment: K8sObject, config: GeoConfig) {
    const { host, port } = parseHostPort(config.services[hub].address);
    const name = host.split(".")[0] ?? host;
    const where = `services.${hub}.address ${config.services[hub].address}`;
    const service = find("Service", name);
    assert.ok(service, `${where}: there is no Service ${name}`);
    const servicePort = service.spec?.ports?.find((p) => p.port === port);
    assert.ok(servicePort, `${where}: Service ${name} has no port ${port}`);
    const template = deployment.spec?.template as K8sPodTemplate;
    const container = template.spec.containers[0] as K8sContainer;
    const target = servicePort.targetPort ?? servicePort.port;
    const targetPort =
      typeof target === "number"
        ? target
        : container.ports?.find((p) => p.name === target)?.containerPort;
    assert.equal(
      targetPort,
      portOf(config.services[hub].listen),
      `${where}: Service ${name} targets another port`,
    );
    const selector = (service.spec?.selector ?? {}) as Record<string, string>;
    assert.ok(Object.keys(selector).length > 0, `Service ${name} has a selector`);
    for (const [label, value] of Object.entries(selector)) {
      assert.equal(
        template.metadata?.labels?.[label],
        value,
        `Service ${name} selects Deployment ${deployment.metadata.name}`,
      );
    }
  }
});

// ---------------------------------------------------------------------------------------------
// deploy/grafana/dashboards

const PROMQL_WORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "offset",
  "bool",
  "inf",
  "nan",
]);

/** Metric names a PromQL expression selects (strings, matchers, ranges and groupings removed). */
/** Every `geo_` metric name declared in the sources of libs and services, with histogram suffixes. */
/** The geo_* series the production sources declare (quoted names in libs/ and services/). */
function declaredGeoMetricNames(): Set<string> {
  const names = new Set<string>();
  for (const top of ["libs", "services"]) {
    for (const pkg of readdirSync(join(root, top))) {
      const src = join(root, top, pkg, "src");
      if (!existsSync(src)) continue;
      for (const file of readdirSync(src, { recursive: true }) as string[]) {
        if (!file.endsWith(".ts") || file.endsWith(".test.ts")) continue;
        const text = readFileSync(join(src, file), "utf8");
        for (const [, name] of text.matchAll(/"(geo_[a-z0-9_]+)"/g)) names.add(name!);
      }
    }
  }
  return names;
}

function declaredGeoMetrics(): string[] {
  return [...declaredGeoMetricNames()].flatMap((name) =>
    ["", "_bucket", "_sum", "_count"].map((suffix) => `${name}${suffix}`),
  );
}

function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, " ")
    .replace(/\$\{?\w+\}?/g, " ");
  const names: string[] = [];
  for (const match of stripped.matchAll(/(?<![\w.:])([A-Za-z_:][\w:]*)(?![\w:]|\s*\()/g)) {
    const name = match[1] as string;
    if (!PROMQL_WORDS.has(name.toLowerCase())) names.push(name);
  }
  return names.filter((name) => !/^\d/.test(name));
}

interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr?: string }[];
  panels?: Panel[];
}

describe("deploy/grafana/dashboards", () => {
  it("finds metric names in PromQL", () => {
    assert.deepEqual(
      promqlMetricNames(
        'sum by (kind) (rate(a_total{job=~"$job", x="y{z}"}[$__rate_interval])) / on(instance) group_left(service) b_bytes * 1e3',
      ),
      ["a_total", "b_bytes"],
    );
    assert.deepEqual(promqlMetricNames("time() - process_start_time_seconds"), [
      "process_start_time_seconds",
    ]);
  });

  it("is valid JSON and queries only metrics the services export (prom-client defaults, up)", async () => {
    const dashboardDir = join(root, "deploy", "grafana", "dashboards");
    const files = readdirSync(dashboardDir).filter((file) => file.endsWith(".json"));
    assert.ok(files.includes("geo-replication.json"), "geo-replication.json exists");

    const registry = createMetricsRegistry("x");
    // The project's own series, as declared in the sources (health-monitoring.test.ts checks the
    // dashboard against a live scrape of every service; this is the quick static check).
    const known = new Set(["up", ...declaredGeoMetrics()]);
    for (const metric of await registry.getMetricsAsJSON()) {
      known.add(metric.name);
      if (String(metric.type) === "histogram") {
        for (const suffix of ["_bucket", "_sum", "_count"]) known.add(`${metric.name}${suffix}`);
      }
      if (String(metric.type) === "summary") {
        for (const suffix of ["_sum", "_count"]) known.add(`${metric.name}${suffix}`);
      }
    }
    const datasources = parse(
      readFileSync(
        join(root, "deploy", "grafana", "provisioning", "datasources", "prometheus.yaml"),
        "utf8",
      ),
    ) as { datasources: { type: string }[] };
    const datasourceTypes = new Set(datasources.datasources.map((d) => d.type));

    for (const file of files) {
      const text = readFileSync(join(dashboardDir, file), "utf8");
      let dashboard: {
        uid?: string;
        title?: string;
        panels?: Panel[];
        templating?: { list?: { type: string; name: string; query?: unknown }[] };
      };
      try {
        dashboard = JSON.parse(text);
      } catch (error) {
        assert.fail(`${file}: not valid JSON: ${(error as Error).message}`);
      }
      assert.ok(dashboard.uid && dashboard.title, `${file}: uid and title`);
      const panels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
      const ids = panels.map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, `${file}: panel ids are unique`);

      const variables = dashboard.templating?.list ?? [];
      for (const variable of variables.filter((v) => v.type === "datasource")) {
        assert.ok(
          datasourceTypes.has(String(variable.query)),
          `${file}: no provisioned ${variable.query} data source`,
        );
      }
      const expressions: [string, string][] = [];
      for (const panel of panels) {
        if (panel.type === "row") continue;
        const uid = panel.datasource?.uid ?? "";
        const variable = /^\$\{?(\w+)\}?$/.exec(uid)?.[1];
        assert.ok(
          variable !== undefined &&
            variables.some((v) => v.name === variable && v.type === "datasource"),
          `${file}: panel "${panel.title}" uses data source "${uid}", not the data-source variable`,
        );
        assert.ok((panel.targets ?? []).length > 0, `${file}: panel "${panel.title}" has no query`);
        for (const target of panel.targets ?? []) {
          expressions.push([`panel "${panel.title}"`, target.expr ?? ""]);
        }
      }
      for (const variable of variables.filter((v) => v.type === "query")) {
        const query =
          typeof variable.query === "string"
            ? variable.query
            : String((variable.query as { query?: string }).query ?? "");
        const selector = /^label_values\((.*),\s*\w+\)$/.exec(query)?.[1] ?? query;
        expressions.push([`variable ${variable.name}`, selector]);
      }
      const used = new Set<string>();
      for (const [where, expr] of expressions) {
        const names = promqlMetricNames(expr);
        assert.ok(names.length > 0, `${file}: ${where} selects no metric: ${expr}`);
        for (const name of names) {
          assert.ok(known.has(name), `${file}: ${where} queries ${name}, which no service exports`);
          used.add(name);
        }
      }
      assert.ok(used.size >= 5, `${file}: only ${used.size} metrics used`);
    }
  });
});

describe("docs/metrics.md", () => {
  it("documents every geo_* series the sources declare, and no other", () => {
    const text = readFileSync(join(root, "docs", "metrics.md"), "utf8");
    const documented = new Set([...text.matchAll(/^\| `(geo_[a-z0-9_]+)` \|/gm)].map((m) => m[1]!));
    const declared = declaredGeoMetricNames();
    assert.ok(declared.size > 40, "the sources declare the project's series");
    const missing = [...declared].filter((name) => !documented.has(name)).sort();
    const stale = [...documented].filter((name) => !declared.has(name)).sort();
    assert.deepEqual(
      { missing, stale },
      { missing: [], stale: [] },
      "add or remove rows in docs/metrics.md",
    );
  });
});
