// The `grpc:` section: limits, TLS and callers (principals) of every gRPC server (see SECURITY.md).
import { z } from "zod";
import { filePath, requiredFilePath, type SchemaContext } from "./context";
import {
  describeValue,
  flag,
  int,
  ms,
  optionalText,
  requiredText,
  section,
  unlessMissing,
} from "./fields";

// grpc: limits, TLS and callers of every gRPC server (see SECURITY.md)

const ROLES = ["viewer", "operator", "admin", "agent", "service"] as const;

function grpcTlsSchema(context: SchemaContext) {
  return section({
    certFile: requiredFilePath(context).describe("PEM chain this process presents"),
    keyFile: requiredFilePath(context),
    caFile: filePath(context).describe("PEM CA bundle that signed the peers' certificates"),
    requireClientCert: flag().optional().describe("default: true when caFile is set"),
    reloadIntervalMs: ms(100, 86_400_000).default(60_000),
    serverName: optionalText().describe("name clients verify instead of the address's host"),
  })
    .superRefine((tls, ctx) => {
      if (tls.requireClientCert === true && tls.caFile === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["caFile"],
          message:
            "is required with requireClientCert: true (client certificates are checked against it)",
        });
      }
    })
    .transform((tls) => ({
      ...tls,
      requireClientCert: tls.requireClientCert ?? tls.caFile !== undefined,
    }));
}

const principalSchema = section(
  {
    name: requiredText().describe("recorded in the flow history and logs"),
    certificate: optionalText().describe("matched against the client certificate's CN and SANs"),
    token: optionalText({ secret: true }).superRefine((token, ctx) => {
      if (token !== undefined && token.length < 16) {
        ctx.addIssue({
          code: "custom",
          message: "is shorter than 16 characters: use a long random token",
        });
      }
    }),
    roles: z
      .array(
        z.enum(ROLES, {
          error: (issue) =>
            `unknown role ${JSON.stringify(issue.input)}; roles: ${ROLES.join(", ")}`,
        }),
        {
          error: unlessMissing((input) => `must be a list of roles, found ${describeValue(input)}`),
        },
      )
      .min(1, { error: "is required: give at least one role" }),
    region: optionalText(),
    agentId: optionalText(),
  },
  { what: "a principal" },
).superRefine((principal, ctx) => {
  if (principal.certificate === undefined && principal.token === undefined) {
    ctx.addIssue({
      code: "custom",
      message: "needs a certificate (subject CN or SAN) or a token to be recognised",
    });
  }
});

const authSchema = section({
  principals: z.array(principalSchema).default([]),
}).superRefine((auth, ctx) => {
  const seen = new Set<string>();
  auth.principals.forEach((principal, index) => {
    if (seen.has(principal.name)) {
      ctx.addIssue({
        code: "custom",
        path: ["principals", index, "name"],
        message: `duplicate principal name "${principal.name}"`,
      });
    }
    seen.add(principal.name);
  });
});

export function grpcSchema(context: SchemaContext) {
  return section({
    defaultDeadlineMs: ms(1, 3_600_000).default(10_000).describe("when the caller gives none"),
    maxMessageBytes: int({ min: 1024, max: 64 * 1024 * 1024 }).default(4 * 1024 * 1024),
    maxCallMs: ms(1, 3_600_000).default(300_000).describe("longest a unary call may run"),
    tls: grpcTlsSchema(context).optional().describe("absent: plaintext (warned)"),
    auth: authSchema.optional().describe("absent: every caller may call everything (warned)"),
    clientToken: optionalText({ secret: true }).describe(
      "bearer token this process's clients send",
    ),
  }).prefault({});
}
