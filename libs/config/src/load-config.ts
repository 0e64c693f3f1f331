import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError } from "./config-error";
import type { GeoConfig } from "./geo-config";
import type { Env } from "./interpolate-env";
import { parseConfig } from "./parse-config";

export interface LoadConfigOptions {
  /** The YAML file. Default: the GEO_CONFIG environment variable. */
  path?: string;
  /** Variables for `${VAR}` interpolation and the GEO_* overrides. Default: process.env. */
  env?: Env;
}

/**
 * Reads, parses and validates the configuration file. Synchronous on purpose: entry points load
 * the configuration before anything else (telemetry must start before other modules load), and
 * there is nothing to do concurrently at that moment. Relative TLS file paths in the file are
 * resolved against the file's folder. Throws ConfigError.
 */
export function loadConfig(options: LoadConfigOptions = {}): GeoConfig {
  const env = options.env ?? process.env;
  const path = options.path ?? env.GEO_CONFIG;
  if (path === undefined || path === "") {
    throw new ConfigError("<no file>", [
      {
        path: "",
        message:
          "no configuration file given: pass its path, or set GEO_CONFIG (e.g. config/demo.yaml)",
      },
    ]);
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? `the file does not exist (looked at ${resolve(path)})`
        : code === "EACCES"
          ? "the file is not readable by this process"
          : code === "EISDIR"
            ? "the path is a folder, not a file"
            : `the file cannot be read (${(error as Error).message})`;
    throw new ConfigError(path, [{ path: "", message: why }]);
  }
  return parseConfig(text, { env, source: path, baseDir: dirname(resolve(path)) });
}
