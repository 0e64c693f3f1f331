import assert from "node:assert/strict";
import { test } from "node:test";
import {
  create,
  createFileRegistry,
  type DescService,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { protoFiles, type replicationV1 } from "@geo/proto";
import { Code } from "./code.js";
import { GeoError } from "./geo-error.js";
import { createGrpcClient } from "./grpc-client.js";
import type { HandlerContext } from "./service-impl.js";
import { startServer, waitFor } from "./test-support.js";

// None of our protos has a client-streaming method, so this test builds one at runtime from a
// descriptor, reusing generated messages as input and output.
function uploadService(): DescService {
  const file = create(FileDescriptorProtoSchema, {
    name: "test/upload/v1/upload.proto",
    package: "test.upload.v1",
    syntax: "proto3",
    dependency: ["geo/replication/v1/replication.proto"],
    service: [
      {
        name: "UploadService",
        method: [
          {
            name: "Upload",
            inputType: ".geo.replication.v1.UnitKey",
            outputType: ".geo.replication.v1.Lag",
            clientStreaming: true,
          },
        ],
      },
    ],
  });
  const registry = createFileRegistry(file, (name) =>
    protoFiles().find((candidate) => candidate.proto.name === name),
  );
  const service = registry.getService("test.upload.v1.UploadService");
  assert.ok(service);
  return service;
}

type UnitKeyInit = MessageInitShape<typeof replicationV1.UnitKeySchema>;
interface UploadClient {
  upload(requests: AsyncIterable<UnitKeyInit>): Promise<replicationV1.Lag>;
  close(): void;
}

test("client streaming: every request reaches the handler, its answer reaches the client", async (t) => {
  const service = uploadService();
  const { server, address } = await startServer((s) =>
    s.addService(service, {
      async upload(requests: AsyncIterable<replicationV1.UnitKey>, _context: HandlerContext) {
        let partitions = 0n;
        for await (const key of requests) partitions += BigInt(key.partition);
        return { records: String(partitions + 9007199254740000n) };
      },
    } as never),
  );
  const client = createGrpcClient(service, { address }) as unknown as UploadClient;
  t.after(async () => {
    client.close();
    await server.stop();
  });

  async function* keys() {
    for (let partition = 0; partition < 4; partition++) yield { flow: "f", partition };
  }
  const lag = await client.upload(keys());

  assert.equal(lag.records, "9007199254740006");
});

test("client streaming: a request source that throws cancels the call with its error", async (t) => {
  const service = uploadService();
  let started = false;
  let handlerSaw: unknown;
  const { server, address } = await startServer((s) =>
    s.addService(service, {
      async upload(requests: AsyncIterable<replicationV1.UnitKey>) {
        started = true;
        try {
          for await (const _key of requests) {
          }
        } catch (error) {
          handlerSaw = error;
          throw error;
        }
        handlerSaw = "the end of the requests";
        return {};
      },
    } as never),
  );
  const client = createGrpcClient(service, { address }) as unknown as UploadClient;
  t.after(async () => {
    client.close();
    await server.stop();
  });

  async function* failing(): AsyncGenerator<UnitKeyInit> {
    yield { flow: "f", partition: 0 };
    await waitFor("the handler to start", () => started);
    throw new GeoError(Code.FAILED_PRECONDITION, "source closed");
  }

  await assert.rejects(client.upload(failing()), (error: unknown) => {
    assert.ok(error instanceof GeoError);
    assert.equal(error.code, Code.FAILED_PRECONDITION);
    assert.equal(error.message, "source closed");
    return true;
  });
  // The reset must not pass for a complete upload (Node ends the request stream first).
  await waitFor("the handler to finish", () => handlerSaw !== undefined);
  assert.ok(handlerSaw instanceof GeoError, `handler saw ${String(handlerSaw)}`);
  assert.equal(handlerSaw.code, Code.CANCELLED);
});
