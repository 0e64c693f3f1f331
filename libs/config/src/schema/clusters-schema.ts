// The `clusters:` section: aliases, bootstrap servers, TLS and SASL of each Kafka cluster (the TLS
// options serve Redis too).
import { z } from "zod";
import { filePath, type SchemaContext } from "./context";
import {
  choice,
  describeValue,
  flag,
  hostPort,
  listOrString,
  MAX_NAME,
  name,
  requiredText,
  section,
  unlessMissing,
} from "./fields";

const ALIAS = /^[a-z][a-z0-9-]*$/;
const ALIAS_RULE = 'use lowercase letters, digits and "-", starting with a letter';

// clusters: TLS and SASL of Kafka (TLS also of Redis)

export function tlsSchema(context: SchemaContext) {
  const options = section({
    enabled: flag().default(true).describe("default true: a tls section means TLS is wanted"),
    caFile: filePath(context).describe("PEM CA bundle that signed the server certificates"),
    certFile: filePath(context).describe("PEM client certificate (mutual TLS); needs keyFile"),
    keyFile: filePath(context).describe("PEM client key (mutual TLS); needs certFile"),
    rejectUnauthorized: flag()
      .default(true)
      .describe("false accepts any server certificate (test set-ups only)"),
  }).superRefine((tls, ctx) => {
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [tls.certFile === undefined ? "certFile" : "keyFile"],
        message: "is missing: a client certificate needs both certFile and keyFile",
      });
    }
  });
  // "tls: true" is shorthand for a TLS connection verified against the system CAs.
  const shorthand = flag().transform(
    (enabled): z.output<typeof options> => ({ enabled, rejectUnauthorized: true }),
  );
  return z
    .union([shorthand, options], {
      error: (issue) => `must be true, false or a mapping, found ${describeValue(issue.input)}`,
    })
    .describe('TLS; "tls: true" is short for TLS verified against the system CAs');
}

const saslSchema = section({
  mechanism: choice(["plain", "scram-sha-256", "scram-sha-512"], {
    whenMissing: "is required: plain, scram-sha-256 or scram-sha-512",
  }),
  username: requiredText(),
  password: requiredText({ secret: true }),
});

function clusterSchema(context: SchemaContext) {
  return section(
    {
      region: name(ALIAS, ALIAS_RULE, MAX_NAME)
        .optional()
        .describe("region the cluster lives in; default: the alias"),
      bootstrapServers: listOrString(hostPort(), {
        splitCommas: true,
        whenMissing: 'is required: list the brokers as "host:port", e.g. ["kafka-1:9092"]',
        min: [1, 'is empty: list at least one broker as "host:port"'],
      }).describe('"host:port" of the brokers; one string with commas also works'),
      tls: tlsSchema(context).optional(),
      sasl: saslSchema.optional(),
    },
    { what: "a cluster", empty: "give it bootstrapServers" },
  );
}

export function clustersSchema(context: SchemaContext) {
  return z
    .record(z.string(), clusterSchema(context), {
      error: unlessMissing(
        (input) =>
          `clusters must be a mapping of "key: value" lines, found ${describeValue(input)}`,
      ),
    })
    .superRefine((clusters, ctx) => {
      const aliases = Object.keys(clusters);
      if (aliases.length === 0) {
        ctx.addIssue({
          code: "custom",
          message: "defines no cluster: add at least one alias with its bootstrapServers",
        });
      }
      for (const alias of aliases) {
        if (ALIAS.test(alias) && alias.length <= MAX_NAME) continue;
        ctx.addIssue({
          code: "custom",
          path: [alias],
          // Reported at the key, not its value: the key is what needs renaming.
          params: { atKey: true },
          message: `cluster alias "${alias}" is not valid: ${ALIAS_RULE} (it becomes a topic prefix, e.g. "us-east")`,
        });
      }
    })
    .transform((clusters) =>
      Object.fromEntries(
        Object.entries(clusters).map(([alias, cluster]) => [
          alias,
          { alias, ...cluster, region: cluster.region ?? alias },
        ]),
      ),
    )
    .describe("alias -> cluster; an alias prefixes the names of remote topics copied from it");
}
