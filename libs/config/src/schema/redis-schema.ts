// The `redis:` section: a standalone Redis or Sentinel, with TLS.
import { z } from "zod";
import { parseHostPort } from "../host-port";
import { tlsSchema } from "./clusters-schema";
import type { SchemaContext } from "./context";
import {
  describeValue,
  hostPort,
  int,
  listOrString,
  optionalText,
  requiredText,
  section,
  text,
} from "./fields";

// redis

// Never quotes the URL itself: it may carry a password.
function redisUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL: write redis://host:6379 (or rediss:// for TLS), optionally redis://:password@host:6379/0";
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    return `has scheme "${parsed.protocol}", must be redis: or rediss:`;
  }
  if (parsed.hostname === "") return "has no host: write redis://host:6379";
  if (parsed.pathname !== "" && parsed.pathname !== "/" && !/^\/\d+$/.test(parsed.pathname)) {
    return 'has a path that is not a database number: write e.g. "redis://host:6379/0"';
  }
  return undefined;
}

const sentinelNode = z.union(
  [
    hostPort().transform((address) => parseHostPort(address)),
    section({ host: requiredText(), port: int({ min: 1, max: 65535 }).default(26379) }).superRefine(
      (node, ctx) => {
        const address = node.host.includes(":") ? `[${node.host}]:1` : `${node.host}:1`;
        const problem = hostPort().safeParse(address).error?.issues[0]?.message;
        if (problem !== undefined)
          ctx.addIssue({ code: "custom", path: ["host"], message: problem });
      },
    ),
  ],
  {
    error: (issue) => `must be "host:port" or { host, port }, found ${describeValue(issue.input)}`,
  },
);

export function redisSchema(context: SchemaContext) {
  return section({
    url: text({ secret: true })
      .superRefine((url, ctx) => {
        const problem = redisUrlProblem(url);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
      })
      .default("redis://127.0.0.1:6379")
      .describe("redis:// or rediss:// URL of a standalone Redis"),
    keyPrefix: text().default("geo:").describe("prefix of every key, to share one Redis"),
    sentinels: listOrString(sentinelNode, {
      splitCommas: true,
      min: [1, 'is empty: list Sentinel nodes as "host:port" or { host, port }'],
    })
      .optional()
      .describe("Sentinel nodes; then the master named sentinelName is used"),
    sentinelName: optionalText(),
    password: optionalText({ secret: true }).describe("overrides a password in url"),
    sentinelPassword: optionalText({ secret: true }),
    tls: tlsSchema(context).optional(),
  })
    .superRefine((redis, ctx) => {
      if (redis.sentinels !== undefined && redis.sentinelName === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["sentinelName"],
          message: "is required with sentinels: the name of the monitored master",
        });
      }
      if (redis.sentinels === undefined && redis.sentinelName !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["sentinels"],
          message: "is missing: sentinelName is only used together with a sentinels list",
        });
      }
    })
    .prefault({});
}
