// An in-process OTLP/gRPC trace receiver (what @geo/telemetry's exporter talks to): accepts
// TraceService/Export, keeps every request as raw bytes (OTLP protobuf, for tests that search what
// the spans carried) and decodes the spans in it, and answers with an empty
// ExportTraceServiceResponse (zero bytes). Only the fields tests look at are decoded.
import { BinaryReader, type WireType } from "@bufbuild/protobuf/wire";
import * as grpc from "@grpc/grpc-js";

const EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  attributes: Record<string, string | number | boolean>;
  links: { traceId: string; spanId: string }[];
}

export interface OtlpReceiver {
  /** http://127.0.0.1:<port>, for telemetry.otlpEndpoint / GEO_OTLP_ENDPOINT. */
  readonly endpoint: string;
  /** Every export request received so far. */
  readonly exports: Buffer[];
  /** The spans of those requests, decoded. */
  readonly spans: readonly ReceivedSpan[];
  close(): void;
}

export function startOtlpReceiver(): Promise<OtlpReceiver> {
  const exports: Buffer[] = [];
  const spans: ReceivedSpan[] = [];
  const server = new grpc.Server();
  const raw = (buffer: Buffer) => buffer;
  server.addService(
    {
      Export: {
        path: EXPORT_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: raw,
        requestDeserialize: raw,
        responseSerialize: raw,
        responseDeserialize: raw,
      },
    },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
        exports.push(call.request);
        spans.push(...decodeExportRequest(call.request));
        done(null, Buffer.alloc(0));
      },
    },
  );
  return new Promise((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
      if (error) reject(error);
      else
        resolve({
          endpoint: `http://127.0.0.1:${port}`,
          exports,
          spans,
          close: () => server.forceShutdown(),
        });
    });
  });
}

/** Calls `onField` for each field of the message; fields it does not read are skipped. */
function fields(
  bytes: Uint8Array,
  onField: (field: number, reader: BinaryReader) => boolean | undefined,
): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (onField(field, reader) !== true) reader.skip(wireType as WireType);
  }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

function decodeExportRequest(request: Uint8Array): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  fields(request, (field, reader) => {
    if (field !== 1) return false; // resource_spans
    let service = "";
    const raws: Uint8Array[] = [];
    fields(reader.bytes(), (f, r) => {
      if (f === 1) {
        // resource.attributes
        fields(r.bytes(), (g, rr) => {
          if (g !== 1) return false;
          const [key, value] = decodeKeyValue(rr.bytes());
          if (key === "service.name") service = String(value);
          return true;
        });
        return true;
      }
      if (f !== 2) return false; // scope_spans
      fields(r.bytes(), (g, rr) => {
        if (g !== 2) return false; // spans
        raws.push(rr.bytes());
        return true;
      });
      return true;
    });
    for (const raw of raws) out.push(decodeSpan(raw, service));
    return true;
  });
  return out;
}

function decodeSpan(bytes: Uint8Array, service: string): ReceivedSpan {
  const span: ReceivedSpan = {
    service,
    traceId: "",
    spanId: "",
    parentSpanId: "",
    name: "",
    attributes: {},
    links: [],
  };
  fields(bytes, (field, reader) => {
    if (field === 1) span.traceId = hex(reader.bytes());
    else if (field === 2) span.spanId = hex(reader.bytes());
    else if (field === 4) span.parentSpanId = hex(reader.bytes());
    else if (field === 5) span.name = reader.string();
    else if (field === 9) {
      const [key, value] = decodeKeyValue(reader.bytes());
      span.attributes[key] = value;
    } else if (field === 13) {
      const link = { traceId: "", spanId: "" };
      fields(reader.bytes(), (f, r) => {
        if (f === 1) link.traceId = hex(r.bytes());
        else if (f === 2) link.spanId = hex(r.bytes());
        else return false;
        return true;
      });
      span.links.push(link);
    } else return false;
    return true;
  });
  return span;
}

function decodeKeyValue(bytes: Uint8Array): [string, string | number | boolean] {
  let key = "";
  let value: string | number | boolean = "";
  fields(bytes, (field, reader) => {
    if (field === 1) key = reader.string();
    else if (field === 2) {
      fields(reader.bytes(), (f, r) => {
        if (f === 1) value = r.string();
        else if (f === 2) value = r.bool();
        else if (f === 3) value = Number(r.int64());
        else if (f === 4) value = r.double();
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  return [key, value];
}
