import type { DescFile, DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import {
  grpcReflectionV1,
  grpcReflectionV1alpha,
  type ServerReflection,
  type ServerReflectionV1alpha,
} from "@geo/proto";
import { Code, statusNumber } from "./code.js";
import type { ServiceImpl } from "./service-impl.js";

type Request = grpcReflectionV1.ServerReflectionRequest;
type Response = MessageInitShape<typeof grpcReflectionV1.ServerReflectionResponseSchema>;

/** Where to find every file, symbol and extension of the descriptor set. */
interface ReflectionIndex {
  files: Map<string, DescFile>;
  symbols: Map<string, DescFile>;
  extensions: Map<string, Map<number, DescFile>>;
  encoded: Map<string, Uint8Array>;
}

function indexMessage(index: ReflectionIndex, file: DescFile, message: DescMessage): void {
  index.symbols.set(message.typeName, file);
  for (const field of message.fields) index.symbols.set(`${message.typeName}.${field.name}`, file);
  for (const oneof of message.oneofs) index.symbols.set(`${message.typeName}.${oneof.name}`, file);
  for (const nested of message.nestedMessages) indexMessage(index, file, nested);
  for (const nested of message.nestedEnums) index.symbols.set(nested.typeName, file);
  for (const extension of message.nestedExtensions) {
    index.symbols.set(extension.typeName, file);
    addExtension(index, file, extension.extendee.typeName, extension.number);
  }
}

function addExtension(index: ReflectionIndex, file: DescFile, extendee: string, number: number) {
  let numbers = index.extensions.get(extendee);
  if (numbers === undefined) {
    numbers = new Map();
    index.extensions.set(extendee, numbers);
  }
  numbers.set(number, file);
}

function buildIndex(files: readonly DescFile[]): ReflectionIndex {
  const index: ReflectionIndex = {
    files: new Map(),
    symbols: new Map(),
    extensions: new Map(),
    encoded: new Map(),
  };
  const visit = (file: DescFile): void => {
    if (index.files.has(file.proto.name)) return;
    index.files.set(file.proto.name, file);
    index.encoded.set(file.proto.name, toBinary(FileDescriptorProtoSchema, file.proto));
    for (const dependency of file.dependencies) visit(dependency);
    for (const message of file.messages) indexMessage(index, file, message);
    for (const enumeration of file.enums) index.symbols.set(enumeration.typeName, file);
    for (const extension of file.extensions) {
      index.symbols.set(extension.typeName, file);
      addExtension(index, file, extension.extendee.typeName, extension.number);
    }
    for (const service of file.services) {
      index.symbols.set(service.typeName, file);
      for (const method of service.methods) {
        index.symbols.set(`${service.typeName}.${method.name}`, file);
      }
    }
  };
  for (const file of files) visit(file);
  return index;
}

// The requested file first, then everything it imports, transitively: clients need all of it to
// build descriptors, and sending it again on each request keeps every client happy.
function withDependencies(index: ReflectionIndex, file: DescFile): Uint8Array[] {
  const ordered: Uint8Array[] = [];
  const seen = new Set<string>();
  const visit = (current: DescFile): void => {
    if (seen.has(current.proto.name)) return;
    seen.add(current.proto.name);
    const encoded = index.encoded.get(current.proto.name);
    if (encoded !== undefined) ordered.push(encoded);
    for (const dependency of current.dependencies) visit(dependency);
  };
  visit(file);
  return ordered;
}

function notFound(message: string): Response["messageResponse"] {
  return {
    case: "errorResponse",
    value: { errorCode: statusNumber(Code.NOT_FOUND), errorMessage: message },
  };
}

function answer(
  index: ReflectionIndex,
  services: () => readonly string[],
  request: Request,
): Response {
  const files = (file: DescFile | undefined, what: string): Response["messageResponse"] =>
    file === undefined
      ? notFound(`${what} not found`)
      : {
          case: "fileDescriptorResponse",
          value: { fileDescriptorProto: withDependencies(index, file) },
        };
  const message = request.messageRequest;
  let messageResponse: Response["messageResponse"];
  switch (message.case) {
    case "fileByFilename":
      messageResponse = files(index.files.get(message.value), `file "${message.value}"`);
      break;
    case "fileContainingSymbol":
      messageResponse = files(index.symbols.get(message.value), `symbol "${message.value}"`);
      break;
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = message.value;
      messageResponse = files(
        index.extensions.get(containingType)?.get(extensionNumber),
        `extension ${extensionNumber} of "${containingType}"`,
      );
      break;
    }
    case "allExtensionNumbersOfType":
      messageResponse = index.symbols.has(message.value)
        ? {
            case: "allExtensionNumbersResponse",
            value: {
              baseTypeName: message.value,
              extensionNumber: [...(index.extensions.get(message.value)?.keys() ?? [])],
            },
          }
        : notFound(`type "${message.value}" not found`);
      break;
    case "listServices":
      messageResponse = {
        case: "listServicesResponse",
        value: { service: [...services()].sort().map((name) => ({ name })) },
      };
      break;
    default:
      messageResponse = {
        case: "errorResponse",
        value: {
          errorCode: statusNumber(Code.INVALID_ARGUMENT),
          errorMessage: "empty reflection request",
        },
      };
  }
  return { validHost: request.host, originalRequest: request, messageResponse };
}

/**
 * @internal Server reflection (`grpc.reflection.v1` and the older `v1alpha` that some clients
 * still ask first) over the given files; `services` lists what the server actually serves.
 */
export function createReflectionImpls(
  files: readonly DescFile[],
  services: () => readonly string[],
): {
  v1: ServiceImpl<typeof ServerReflection>;
  v1alpha: ServiceImpl<typeof ServerReflectionV1alpha>;
} {
  const index = buildIndex(files);
  return {
    v1: {
      async *serverReflectionInfo(requests) {
        for await (const request of requests) yield answer(index, services, request);
      },
    },
    // v1alpha is byte-for-byte the same protocol under another package: re-read each message
    // as the other version instead of duplicating the logic.
    v1alpha: {
      async *serverReflectionInfo(requests) {
        for await (const alphaRequest of requests) {
          const request = fromBinary(
            grpcReflectionV1.ServerReflectionRequestSchema,
            toBinary(grpcReflectionV1alpha.ServerReflectionRequestSchema, alphaRequest),
          );
          const response = answer(index, services, request);
          yield fromBinary(
            grpcReflectionV1alpha.ServerReflectionResponseSchema,
            toBinary(
              grpcReflectionV1.ServerReflectionResponseSchema,
              create(grpcReflectionV1.ServerReflectionResponseSchema, response),
            ),
          );
        }
      },
    },
  };
}
