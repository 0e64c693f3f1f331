// An OTLP/gRPC trace receiver for tests: keeps every export request as raw bytes (OTLP
// protobuf), so a test can search what the services' spans carried, and answers with an empty
// ExportTraceServiceResponse (zero bytes).
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";

const EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const passThrough = (buffer: Buffer) => buffer;

export interface OtlpReceiver {
  readonly endpoint: string;
  /** Every export request received so far. */
  readonly exports: Buffer[];
  close(): void;
}

export function startOtlpReceiver(): Promise<OtlpReceiver> {
  const exports: Buffer[] = [];
  const server = new Server();
  server.addService(
    {
      Export: {
        path: EXPORT_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: passThrough,
        requestDeserialize: passThrough,
        responseSerialize: passThrough,
        responseDeserialize: passThrough,
      },
    },
    {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        exports.push(call.request);
        callback(null, Buffer.alloc(0));
      },
    },
  );
  return new Promise((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => {
      if (error) reject(error);
      else
        resolve({
          endpoint: `http://127.0.0.1:${port}`,
          exports,
          close: () => server.forceShutdown(),
        });
    });
  });
}
