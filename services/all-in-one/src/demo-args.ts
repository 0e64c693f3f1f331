// The demo's command line: `npm start -- [--config my.yaml] [--help]`.
import { resolve } from "node:path";
import { parseArgs } from "node:util";

export interface DemoArgs {
  /** The user's config file; absent for the built-in two-region stack. */
  configPath?: string;
  help: boolean;
}

export const DEMO_USAGE = `usage: npm start -- [--config <file>]

Without --config: starts two local Kafka clusters (us-east, eu-west) and Redis on free loopback
ports, the four services with config/demo.yaml, sample traffic, and a status view until Ctrl-C.

  --config <file>  run the services on your own clusters and Redis as <file> describes (no local
                   Kafka or Redis is started and no sample traffic is written)
  -h, --help       this text
`;

/** Parses the demo's arguments; throws an Error whose message says what is wrong. */
export function parseDemoArgs(argv: readonly string[], cwd = process.cwd()): DemoArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      config: { type: "string", short: "c" },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) {
    throw new Error(`unexpected argument "${positionals[0]}"`);
  }
  if (values.config !== undefined && values.config.trim() === "") {
    throw new Error("--config needs a file path");
  }
  return {
    help: values.help ?? false,
    ...(values.config === undefined ? {} : { configPath: resolve(cwd, values.config) }),
  };
}
