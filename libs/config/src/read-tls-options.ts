import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { ConfigError, type ConfigIssue } from "./config-error";
import type { TlsConfig } from "./geo-config";

/**
 * Node TLS options for a TlsConfig, with the CA, certificate and key files read now, so that a
 * missing or unreadable file fails at start-up naming the configuration field (`path`, e.g.
 * "clusters.us-east.tls") rather than inside a reconnect loop. Undefined when TLS is off. File
 * contents are never put in errors.
 */
export function readTlsOptions(
  tls: TlsConfig | undefined,
  path: string,
): ConnectionOptions | undefined {
  if (tls === undefined || !tls.enabled) return undefined;
  const options: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized };
  const issues: ConfigIssue[] = [];
  const read = (key: "caFile" | "certFile" | "keyFile"): Buffer | undefined => {
    const file = tls[key];
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      issues.push({
        path: `${path}.${key}`,
        message: `cannot read "${file}" (${code}): check the path (relative paths are resolved against the configuration file's folder) and permissions`,
      });
      return undefined;
    }
  };
  const ca = read("caFile");
  const cert = read("certFile");
  const key = read("keyFile");
  if (issues.length > 0) throw new ConfigError(path, issues);
  if (ca !== undefined) options.ca = [ca];
  if (cert !== undefined) options.cert = cert;
  if (key !== undefined) options.key = key;
  return options;
}
