// Writes docs/api.md, the gRPC API reference, from the protos' own comments: `buf build` gives the
// descriptors with their source info, and this walks the geo.* packages' services, messages and
// enums. `--check` fails when the committed file differs (run after changing a proto).
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { writeOrCheck } from "./write-or-check.mjs";

const root = join(import.meta.dirname, "..");
const require = createRequire(join(root, "libs/proto/package.json"));
const { fromBinary } = require("@bufbuild/protobuf");
const { FileDescriptorSetSchema } = require("@bufbuild/protobuf/wkt");

const buf = join(root, "node_modules/.bin/buf");
const binary = execFileSync(buf, ["build", "-o", "-"], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
const set = fromBinary(FileDescriptorSetSchema, new Uint8Array(binary));

const TYPES = {
  1: "double",
  2: "float",
  3: "int64",
  4: "uint64",
  5: "int32",
  8: "bool",
  9: "string",
  12: "bytes",
  13: "uint32",
  17: "sint32",
  18: "sint64",
};

function commentsOf(file) {
  const byPath = new Map();
  for (const location of file.sourceCodeInfo?.location ?? []) {
    const text = location.leadingComments.trim().replace(/\s*\n\s*/g, " ");
    if (text !== "") byPath.set(location.path.join("."), text);
  }
  return (path) => (byPath.get(path.join(".")) ?? "").replace(/\|/g, "\\|");
}

const typeName = (field) => {
  const base = field.typeName
    ? `\`${field.typeName.replace(/^\./, "")}\``
    : (TYPES[field.type] ?? `type ${field.type}`);
  return field.label === 3 ? `repeated ${base}` : base;
};

function messageSection(pkg, message, path, comment, lines) {
  lines.push(`### ${pkg}.${message.name}`, "", comment(path) || "(no description)", "");
  if (message.field.length > 0) {
    lines.push("| field | type | description |", "|---|---|---|");
    message.field.forEach((field, i) => {
      const oneof =
        Object.hasOwn(field, "oneofIndex") && !field.proto3Optional
          ? ` (one of \`${message.oneofDecl[field.oneofIndex]?.name}\`)`
          : "";
      lines.push(
        `| \`${field.name}\` | ${typeName(field)} | ${comment([...path, 2, i])}${oneof} |`,
      );
    });
    lines.push("");
  }
  message.nestedType.forEach((nested, i) => {
    messageSection(`${pkg}.${message.name}`, nested, [...path, 3, i], comment, lines);
  });
}

const lines = [
  "# gRPC API reference",
  "",
  "Generated from `proto/` by `node scripts/api-doc.mjs` (the protos' comments are the documentation;",
  "change them there). Every server also offers `grpc.health.v1` and server reflection.",
  "",
  "## Errors",
  "",
  "A failed call ends with a gRPC status code and a message for people, plus the standard rich error",
  "model (`google.rpc.Status`, https://google.aip.dev/193) in the `grpc-status-details-bin` trailer:",
  "`google.rpc.ErrorInfo` always (`reason`: the stable upper-snake-case cause, e.g. `INVALID_ARGUMENT`",
  "or `REDIS_UNAVAILABLE`; `domain`: `geo-replication`; `metadata`: facts such as `field` or `flow`),",
  "`google.rpc.BadRequest` field violations for an invalid request field, and `google.rpc.RetryInfo`",
  "(the delay before retrying) only when the same call may succeed later. Reflection serves these types;",
  "`buf curl` prints each detail's type and wire bytes (base64); `@geo/grpc` clients decode them into `GeoError`.",
  "",
];
for (const file of set.file.filter((f) => f.package.startsWith("geo."))) {
  const comment = commentsOf(file);
  lines.push(`## ${file.package} (\`${file.name}\`)`, "", comment([2]) || "", "");
  file.service.forEach((service, s) => {
    lines.push(
      `### service ${file.package}.${service.name}`,
      "",
      comment([6, s]),
      "",
      "| method | request | response | description |",
      "|---|---|---|---|",
    );
    service.method.forEach((method, m) => {
      const stream = (yes) => (yes ? "stream " : "");
      lines.push(
        `| \`${method.name}\` | ${stream(method.clientStreaming)}\`${method.inputType.replace(/^\./, "")}\` | ${stream(method.serverStreaming)}\`${method.outputType.replace(/^\./, "")}\` | ${comment([6, s, 2, m])} |`,
      );
    });
    lines.push("");
  });
  file.messageType.forEach((message, i) => {
    messageSection(file.package, message, [4, i], comment, lines);
  });
  file.enumType.forEach((en, i) => {
    lines.push(
      `### enum ${file.package}.${en.name}`,
      "",
      comment([5, i]),
      "",
      "| value | number | description |",
      "|---|---|---|",
    );
    en.value.forEach((value, v) => {
      lines.push(`| \`${value.name}\` | ${value.number} | ${comment([5, i, 2, v])} |`);
    });
    lines.push("");
  });
}
const text = `${lines
  .join("\n")
  .replace(/\n{3,}/g, "\n\n")
  .trimEnd()}\n`;
const target = join(root, "docs/api.md");
writeOrCheck(target, text, "node scripts/api-doc.mjs");
