import { parseArgs } from "node:util";
import { CodedError } from "@geo/errors";

export interface ServiceArgs {
  /** Path of the YAML configuration (`--config`, else GEO_CONFIG). */
  readonly configPath: string | undefined;
  /** `--region`, for the agent; GEO_AGENT_REGION does the same through the config. */
  readonly region: string | undefined;
  /** `--id`, for the agent; GEO_AGENT_ID does the same through the config. */
  readonly id: string | undefined;
}

/** Thrown for a command line the service cannot run with; the message says how to call it. */
export class UsageError extends CodedError<"USAGE"> {
  constructor(message: string) {
    super("USAGE", message);
  }
}

export function usage(service: string): string {
  return [
    `usage: node services/${service}/dist/main.js --config <geo.yaml>${service === "agent" ? " [--region <region>] [--id <agent id>]" : ""}`,
    "  --config   the YAML configuration (default: $GEO_CONFIG); see config/reference.yaml",
    ...(service === "agent"
      ? [
          "  --region   the region this agent serves (default: services.agent.region or $GEO_AGENT_REGION)",
          "  --id       a stable agent id (default: services.agent.id, $GEO_AGENT_ID, or host-pid)",
        ]
      : []),
  ].join("\n");
}

export function parseServiceArgs(service: string, argv: readonly string[]): ServiceArgs {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: "string", short: "c" },
        region: { type: "string" },
        id: { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (service !== "agent" && (values.region !== undefined || values.id !== undefined)) {
      throw new Error("--region and --id apply to the agent only");
    }
    return { configPath: values.config, region: values.region, id: values.id };
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${usage(service)}`);
  }
}
