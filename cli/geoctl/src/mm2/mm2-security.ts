// A cluster's connection security from MM2's client settings: security.protocol, SASL (PLAIN and
// SCRAM carry over, the password moves to an environment variable), and TLS (PEM files carry
// over; Java keystores need a one-time export, which the report explains).
import type { Mm2Properties } from "./mm2-properties";

export interface ClusterSecurityYaml {
  tls?: { enabled: true; caFile?: string; certFile?: string; keyFile?: string };
  sasl?: { mechanism: string; username: string; password: string };
}

export interface Report {
  dropped(key: string, reason: string): void;
  note(key: string, note: string): void;
  needsEnv(variable: string): void;
}

const CLIENTS = ["", "consumer.", "producer.", "admin."];
const MECHANISMS: Record<string, string> = {
  PLAIN: "plain",
  "SCRAM-SHA-256": "scram-sha-256",
  "SCRAM-SHA-512": "scram-sha-512",
};

/** Reads `name` for cluster `alias` at cluster, client and top level; reports disagreements. */
function setting(props: Mm2Properties, alias: string, name: string, report: Report) {
  const keys = [...CLIENTS.map((client) => `${alias}.${client}${name}`), name];
  const found = props.all(keys);
  const distinct = new Set(found.map((entry) => entry.value));
  if (distinct.size > 1) {
    report.note(
      found.map((entry) => entry.key).join(", "),
      `the clients of "${alias}" disagree; geo uses one setting per cluster and took ${found[0]!.key}=${name.includes("password") || name.includes("jaas") ? "(secret)" : found[0]!.value}`,
    );
  }
  return found[0];
}

export function envName(alias: string, what: string): string {
  return `${alias.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_${what}`;
}

function jaasField(jaas: string, field: string): string | undefined {
  return new RegExp(`${field}\\s*=\\s*"([^"]*)"`).exec(jaas)?.[1];
}

function convertSasl(props: Mm2Properties, alias: string, ours: string, report: Report) {
  const mechanism = setting(props, alias, "sasl.mechanism", report);
  const jaas = setting(props, alias, "sasl.jaas.config", report);
  const name = (mechanism?.value ?? "GSSAPI").toUpperCase();
  const mapped = MECHANISMS[name];
  if (mapped === undefined) {
    report.dropped(
      mechanism?.key ?? `${alias}.sasl.mechanism`,
      `SASL ${name} is not supported (geo speaks PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512): the cluster has no sasl section and will refuse the connection until you add one`,
    );
    return undefined;
  }
  const username = jaas === undefined ? undefined : jaasField(jaas.value, "username");
  if (jaas === undefined || username === undefined || /\$\{[a-z]+:/.test(jaas.value)) {
    report.dropped(
      jaas?.key ?? `${alias}.sasl.jaas.config`,
      `no username/password found in sasl.jaas.config (missing, or read through a config provider): fill clusters.${ours}.sasl.username and password yourself (the password from an environment variable)`,
    );
    return undefined;
  }
  const variable = envName(ours, "KAFKA_PASSWORD");
  report.needsEnv(variable);
  report.note(
    jaas.key,
    `the password is not copied into the YAML: it reads \${${variable}}; set that variable for the services`,
  );
  return { mechanism: mapped, username, password: `\${${variable}}` };
}

function convertTls(props: Mm2Properties, alias: string, ours: string, report: Report) {
  const tls: NonNullable<ClusterSecurityYaml["tls"]> = { enabled: true };
  const trustType = setting(props, alias, "ssl.truststore.type", report)?.value ?? "JKS";
  const trust = setting(props, alias, "ssl.truststore.location", report);
  setting(props, alias, "ssl.truststore.password", report);
  if (trust !== undefined && trustType.toUpperCase() === "PEM") tls.caFile = trust.value;
  else if (trust !== undefined) {
    report.dropped(
      trust.key,
      `geo reads PEM files, not ${trustType} stores: export the CA once (keytool -exportcert -rfc -keystore ${trust.value} -alias <ca> -file ${ours}-ca.pem) and set clusters.${ours}.tls.caFile; until then the system's CAs are used`,
    );
  }
  const keyType = setting(props, alias, "ssl.keystore.type", report)?.value ?? "JKS";
  const keystore = setting(props, alias, "ssl.keystore.location", report);
  setting(props, alias, "ssl.keystore.password", report);
  setting(props, alias, "ssl.key.password", report);
  if (keystore !== undefined && keyType.toUpperCase() === "PEM") {
    tls.certFile = keystore.value;
    tls.keyFile = keystore.value;
    report.note(
      keystore.key,
      "the PEM keystore (certificate and key in one file) is used as certFile and keyFile",
    );
  } else if (keystore !== undefined) {
    report.dropped(
      keystore.key,
      `geo reads PEM files, not ${keyType} stores: convert the client certificate and key once (openssl pkcs12 -in <store.p12> -out ${ours}-client.pem -nodes, after keytool -importkeystore to PKCS12 for JKS) and set clusters.${ours}.tls.certFile and keyFile`,
    );
  }
  const verify = setting(props, alias, "ssl.endpoint.identification.algorithm", report);
  if (verify !== undefined && verify.value === "") {
    report.dropped(
      verify.key,
      "geo always checks the broker's host name against its certificate; fix the certificates (or, in a test set-up only, set tls.rejectUnauthorized: false, which skips all verification)",
    );
  }
  return tls;
}

/** The tls and sasl sections of cluster `alias` (written as `ours`). */
export function convertSecurity(
  props: Mm2Properties,
  alias: string,
  ours: string,
  report: Report,
): ClusterSecurityYaml {
  const protocol = (
    setting(props, alias, "security.protocol", report)?.value ?? "PLAINTEXT"
  ).toUpperCase();
  const result: ClusterSecurityYaml = {};
  if (protocol === "SSL" || protocol === "SASL_SSL")
    result.tls = convertTls(props, alias, ours, report);
  if (protocol === "SASL_PLAINTEXT" || protocol === "SASL_SSL") {
    const sasl = convertSasl(props, alias, ours, report);
    if (sasl !== undefined) result.sasl = sasl;
  }
  if (!["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].includes(protocol)) {
    report.dropped(`${alias}.security.protocol`, `unknown security protocol ${protocol}`);
  }
  return result;
}
