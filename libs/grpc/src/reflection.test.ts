import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import {
  AgentService,
  AgentSessionService,
  CoordinatorService,
  googleRpc,
  OffsetTranslationService,
  ReplicationHealthService,
  ServerReflection,
  ServerReflectionV1alpha,
} from "@geo/proto";
import { Code, statusNumber } from "./code.js";
import { clientFor, createQueue, startServer } from "./test-support.js";
import { requireNonEmpty } from "./validate.js";

const run = promisify(execFile);
const buf = join(__dirname, "..", "..", "..", "node_modules", ".bin", "buf");

async function bufCurl(...args: string[]): Promise<string> {
  // Asynchronous on purpose: the server under test runs in this process's event loop.
  const { stdout } = await run(
    buf,
    ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args],
    {
      timeout: 30_000,
    },
  );
  return stdout;
}

async function startAllServices() {
  return startServer((server) => {
    server.addService(CoordinatorService, {
      updateFlow: (request) => ({
        flow: { name: request.flow?.name, version: request.expectedVersion },
      }),
    });
    server.addService(AgentSessionService, {});
    server.addService(AgentService, {});
    server.addService(OffsetTranslationService, {});
    server.addService(ReplicationHealthService, {});
  });
}

test("buf curl lists our services and grpc.health.v1.Health, and calls them by name", async (t) => {
  const { server, address } = await startAllServices();
  t.after(() => server.stop());

  const services = (await bufCurl("--list-services", `http://${address}`)).trim().split("\n");
  for (const name of [
    "geo.coordinator.v1.CoordinatorService",
    "geo.agent.v1.AgentSessionService",
    "geo.agent.v1.AgentService",
    "geo.offsets.v1.OffsetTranslationService",
    "geo.health.v1.ReplicationHealthService",
    "grpc.health.v1.Health",
  ]) {
    assert.ok(services.includes(name), `${name} missing from ${services.join(", ")}`);
  }

  const health = JSON.parse(
    await bufCurl("--data", "{}", `http://${address}/grpc.health.v1.Health/Check`),
  ) as { status: string };
  assert.deepEqual(health, { status: "SERVING" });

  const updated = JSON.parse(
    await bufCurl(
      "--data",
      JSON.stringify({ flow: { name: "orders" }, expectedVersion: "9007199254740993" }),
      `http://${address}/geo.coordinator.v1.CoordinatorService/UpdateFlow`,
    ),
  ) as { flow: { name: string; version: string } };
  assert.deepEqual(updated, { flow: { name: "orders", version: "9007199254740993" } });
});

test("buf curl prints a failed call's ErrorInfo and BadRequest details", async (t) => {
  const { server, address } = await startServer((server) => {
    server.addService(CoordinatorService, {
      updateFlow: (request) => {
        requireNonEmpty(request.flow?.name ?? "", "flow.name");
        return {};
      },
    });
  });
  t.after(() => server.stop());

  const failed = await run(
    buf,
    [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--data",
      JSON.stringify({ flow: { name: "" } }),
      `http://${address}/geo.coordinator.v1.CoordinatorService/UpdateFlow`,
    ],
    { timeout: 30_000 },
  ).then(
    () => assert.fail("UpdateFlow without a name succeeded"),
    (error: { stderr: string }) => error.stderr,
  );
  // buf curl prints the status as Connect's JSON: each detail's type, and its wire bytes in
  // base64 (it renders as JSON only the detail types compiled into buf itself).
  const printed = JSON.parse(failed) as {
    code: string;
    message: string;
    details: { type: string; value: string }[];
  };
  assert.equal(printed.code, "invalid_argument");
  assert.equal(printed.message, "flow.name: is required");
  assert.deepEqual(
    printed.details.map((detail) => detail.type),
    ["google.rpc.ErrorInfo", "google.rpc.BadRequest"],
  );
  const bytesOf = (index: number) => Buffer.from(printed.details[index]?.value ?? "", "base64");
  const info = fromBinary(googleRpc.ErrorInfoSchema, bytesOf(0));
  assert.equal(info.reason, "INVALID_ARGUMENT");
  assert.equal(info.domain, "geo-replication");
  assert.deepEqual(info.metadata, { field: "flow.name" });
  const badRequest = fromBinary(googleRpc.BadRequestSchema, bytesOf(1));
  assert.deepEqual(
    badRequest.fieldViolations.map(({ field, description }) => ({ field, description })),
    [{ field: "flow.name", description: "is required" }],
  );
});

test("reflection answers a symbol with its file and every file it imports", async (t) => {
  const { server, address } = await startAllServices();
  const client = clientFor(ServerReflection, address);
  t.after(async () => {
    client.close();
    await server.stop();
  });

  const requests =
    createQueue<
      Parameters<typeof client.serverReflectionInfo>[0] extends AsyncIterable<infer R> ? R : never
    >();
  requests.push({
    messageRequest: {
      case: "fileContainingSymbol",
      value: "geo.agent.v1.AgentSessionService.Connect",
    },
  });
  requests.push({
    messageRequest: { case: "fileContainingSymbol", value: "geo.nothing.v1.Missing" },
  });
  // The rich error model's detail types, for clients that render them (grpcurl, Postman).
  requests.push({
    messageRequest: { case: "fileContainingSymbol", value: "google.rpc.BadRequest.FieldViolation" },
  });
  requests.end();
  const responses = [];
  for await (const response of client.serverReflectionInfo(requests.iterable))
    responses.push(response);

  const [found, missing, errorDetails] = responses.map((response) => response.messageResponse);
  assert.equal(found?.case, "fileDescriptorResponse");
  const names = found.value.fileDescriptorProto.map(
    (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
  );
  assert.equal(names[0], "geo/agent/v1/agent.proto");
  assert.deepEqual(names.slice(1).sort(), [
    "geo/replication/v1/replication.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/timestamp.proto",
  ]);
  assert.equal(missing?.case, "errorResponse");
  assert.equal(missing.value.errorCode, statusNumber(Code.NOT_FOUND));
  assert.equal(errorDetails?.case, "fileDescriptorResponse");
  assert.deepEqual(
    errorDetails.value.fileDescriptorProto.map(
      (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
    ),
    ["google/rpc/error_details.proto", "google/protobuf/duration.proto"],
  );
});

test("reflection v1alpha answers like v1 for older clients", async (t) => {
  const { server, address } = await startAllServices();
  const client = clientFor(ServerReflectionV1alpha, address);
  t.after(async () => {
    client.close();
    await server.stop();
  });

  const requests =
    createQueue<
      Parameters<typeof client.serverReflectionInfo>[0] extends AsyncIterable<infer R> ? R : never
    >();
  requests.push({ host: "h", messageRequest: { case: "listServices", value: "" } });
  requests.end();
  const responses = [];
  for await (const response of client.serverReflectionInfo(requests.iterable))
    responses.push(response);

  const listed = responses[0]?.messageResponse;
  assert.equal(responses[0]?.validHost, "h");
  assert.equal(listed?.case, "listServicesResponse");
  assert.ok(listed.value.service.some((service) => service.name === "grpc.health.v1.Health"));
  assert.ok(
    listed.value.service.some(
      (service) => service.name === "geo.offsets.v1.OffsetTranslationService",
    ),
  );
});
