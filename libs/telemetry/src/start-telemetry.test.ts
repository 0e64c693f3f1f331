// The OpenTelemetry SDK is process-global, so this file owns its process: it starts telemetry
// once, against an in-process OTLP/gRPC receiver, and checks what really left the process.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { startTelemetry, type TelemetryHandle } from "./start-telemetry";

const EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const PING_PATH = "/geo.test.Echo/Ping";
const passThrough = (buffer: Buffer) => buffer;

// A raw receiver: requests are kept as bytes (OTLP protobuf), and the reply is an empty
// ExportTraceServiceResponse, which encodes as zero bytes. Created before telemetry starts, so
// its handlers are not instrumented and receiving spans does not produce more spans.
function startReceiver(): Promise<{ server: grpc.Server; port: number; exports: Buffer[] }> {
  const exports: Buffer[] = [];
  const server = new grpc.Server();
  const method = (path: string) => ({
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  });
  server.addService(
    { Export: method(EXPORT_PATH), Ping: method(PING_PATH) },
    {
      Export: (
        call: grpc.ServerUnaryCall<Buffer, Buffer>,
        callback: grpc.sendUnaryData<Buffer>,
      ) => {
        exports.push(call.request);
        callback(null, Buffer.alloc(0));
      },
      Ping: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        callback(null, call.request);
      },
    },
  );
  return new Promise((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
      if (error) reject(error);
      else resolve({ server, port, exports });
    });
  });
}

describe("startTelemetry", () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let telemetry: TelemetryHandle;
  const diagnostics: string[] = [];

  before(async () => {
    receiver = await startReceiver();
    telemetry = startTelemetry({
      serviceName: "geo-telemetry-test",
      enabled: true,
      otlpEndpoint: `http://127.0.0.1:${receiver.port}`,
      resourceAttributes: { "geo.region": "test-region" },
      onDiagnostic: (message) => diagnostics.push(message),
    });
  });

  after(async () => {
    await telemetry.shutdown();
    receiver.server.forceShutdown();
  });

  it("returns the running handle when called again", () => {
    assert.equal(telemetry.enabled, true);
    assert.equal(startTelemetry({ serviceName: "other", enabled: true }), telemetry);
  });

  it("exports spans over OTLP/gRPC, from the API and from the grpc and kafkajs instrumentations, without touching record headers", async () => {
    const { trace } = require("@opentelemetry/api") as typeof import("@opentelemetry/api");
    trace.getTracer("geo-test").startActiveSpan("geo-manual-span", (span) => {
      span.setAttribute("geo.flow", "us-east->eu-west");
      span.end();
    });

    // Required after start, as a service's modules are: the grpc instrumentation traces this call.
    // (require, not import(): TypeScript keeps import() in CommonJS output, and Node's ESM loader
    // bypasses the require hooks the instrumentations rely on.)
    const grpcAfterStart = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
    const client = new grpcAfterStart.Client(
      `127.0.0.1:${receiver.port}`,
      grpcAfterStart.credentials.createInsecure(),
    );
    const pong = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        PING_PATH,
        passThrough,
        passThrough,
        Buffer.from("ping"),
        (error, value) => (error || value === undefined ? reject(error) : resolve(value)),
      ),
    );
    client.close();
    assert.equal(pong.toString(), "ping");

    // kafkajs's producer is instrumented, but the record's headers must stay exactly as built,
    // including a traceparent header of its own, which the stock instrumentation would replace.
    const { Kafka, logLevel } = require("kafkajs") as typeof import("kafkajs");
    const kafka = new Kafka({
      clientId: "telemetry-test",
      brokers: ["127.0.0.1:1"],
      connectionTimeout: 200,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer();
    const headers = {
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      a: "1",
    };
    const message = { key: "k", value: "v", headers };
    const withoutHeaders: { value: string; headers?: Record<string, string> } = { value: "w" };
    await assert.rejects(
      producer.send({ topic: "geo-telemetry-topic", messages: [message, withoutHeaders] }),
    );
    assert.equal(message.headers, headers, "the headers object is not replaced");
    assert.deepEqual(headers, {
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      a: "1",
    });
    assert.equal(
      "headers" in withoutHeaders,
      false,
      "no headers are added to a record without any",
    );

    await telemetry.flush();
    const received = Buffer.concat(receiver.exports).toString("latin1");
    for (const expected of [
      "geo-manual-span",
      "us-east->eu-west",
      "geo-telemetry-test",
      "test-region",
      "geo.test.Echo/Ping",
      "send geo-telemetry-topic",
    ]) {
      assert.ok(
        received.includes(expected),
        `"${expected}" not found in ${receiver.exports.length} export request(s)`,
      );
    }
    assert.deepEqual(
      diagnostics.filter((d) => /error/i.test(d)),
      [],
    );
  });

  it("flushes what is left on shutdown", async () => {
    const { trace } = require("@opentelemetry/api") as typeof import("@opentelemetry/api");
    trace.getTracer("geo-test").startSpan("geo-span-at-shutdown").end();
    const before = receiver.exports.length;
    await telemetry.shutdown();
    assert.ok(receiver.exports.length > before, "shutdown exported nothing");
    assert.ok(
      Buffer.concat(receiver.exports.slice(before))
        .toString("latin1")
        .includes("geo-span-at-shutdown"),
    );
    await telemetry.shutdown();
  });
});
