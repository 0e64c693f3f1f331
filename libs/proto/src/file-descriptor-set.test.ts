import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import {
  AgentSessionService,
  coordinatorV1,
  createProtoRegistry,
  fileDescriptorSetBinary,
  protoFiles,
} from "./index.js";

function generatedProtoNames(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return generatedProtoNames(path, root);
    return name.endsWith("_pb.js") ? [relative(root, path).replace(/_pb\.js$/, ".proto")] : [];
  });
}

test("protoFiles covers every generated file, each after what it imports", () => {
  const files = protoFiles();
  const names = files.map((file) => file.proto.name);
  for (const generated of generatedProtoNames(join(__dirname, "gen"))) {
    assert.ok(names.includes(generated), `${generated} is generated but missing from protoFiles()`);
  }
  for (const [index, file] of files.entries()) {
    for (const dependency of file.proto.dependency) {
      assert.ok(
        names.indexOf(dependency) < index,
        `${dependency} must come before ${file.proto.name}`,
      );
    }
  }
});

test("the serialized descriptor set parses back with services and jstype options", () => {
  const set = fromBinary(FileDescriptorSetSchema, fileDescriptorSetBinary());
  const agent = set.file.find((file) => file.name === "geo/agent/v1/agent.proto");
  assert.ok(agent);
  assert.deepEqual(
    agent.service.map((service) => service.name),
    ["AgentSessionService", "AgentService"],
  );
  const assigned = agent.messageType.find((message) => message.name === "AssignedUnit");
  const epoch = assigned?.field.find((field) => field.name === "epoch");
  assert.equal(epoch?.options?.jstype, 1, "int64 epoch must be JS_STRING");
  assert.ok(set.file.some((file) => file.name === "grpc/health/v1/health.proto"));
});

test("the registry resolves messages and services of every package", () => {
  const registry = createProtoRegistry();
  assert.equal(registry.getService("geo.agent.v1.AgentSessionService"), AgentSessionService);
  assert.equal(registry.getMessage("geo.coordinator.v1.Flow"), coordinatorV1.FlowSchema);
  assert.ok(registry.getMessage("google.protobuf.Timestamp"));
});
