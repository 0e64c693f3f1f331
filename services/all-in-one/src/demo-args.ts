// The demo's command line: `npm start -- [--config my.yaml | --drill] [--help]`.
import { resolve } from "node:path";
import { parseArgs } from "node:util";

export interface DemoArgs {
  /** The user's config file; absent for the built-in two-region stack. */
  configPath?: string;
  /** Run the guided switchover of the active-passive pair and back (local stack only). */
  drill: boolean;
  help: boolean;
}

export const DEMO_USAGE = `usage: npm start -- [--config <file> | --drill]

Without --config: starts three local Kafka clusters (us-east, eu-west, ap-south) and Redis on free
loopback ports, the four services with config/demo.yaml, sample traffic (an active-active pair
us-east <-> eu-west, an active-passive pair us-east -> ap-south with a consumer group), and a
status view until Ctrl-C.

  --drill          also run a guided drill: a dry run, then a switchover of the active-passive
                   pair to ap-south and back while its producer and consumer keep working; prints
                   each step, RTO and RPO, and whether every record was read exactly once
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
      drill: { type: "boolean", default: false },
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
  if (values.drill && values.config !== undefined) {
    throw new Error(
      "--drill runs on the local stack's sample pair; with --config use npx geoctl drill <flow-group> --to <region> on your own flow groups",
    );
  }
  return {
    drill: values.drill ?? false,
    help: values.help ?? false,
    ...(values.config === undefined ? {} : { configPath: resolve(cwd, values.config) }),
  };
}
