// The standard gRPC rich error model (https://google.aip.dev/193) at the edge: a failed call's
// google.rpc.Status, with ErrorInfo, BadRequest and RetryInfo details, serialized into the
// `grpc-status-details-bin` trailer, which grpcurl, buf curl and every gRPC library read.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Any, anyPack, anyUnpack, durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { googleRpc } from "@geo/proto";

/** The trailer of the standard rich error model. */
export const STATUS_DETAILS_TRAILER = "grpc-status-details-bin";

/** `ErrorInfo.domain` of every error this system sends. */
export const ERROR_DOMAIN = "geo-replication";

/** One invalid request field (`BadRequest.FieldViolation`). */
export interface FieldViolation {
  /** Path of the field, e.g. `flow.topics.include[2]`. */
  readonly field: string;
  /** Why it is invalid and how to fix it. */
  readonly description: string;
}

/** What a google.rpc.Status carries besides the code and message this system uses. */
export interface StatusDetails {
  /** `ErrorInfo.reason`: the stable upper-snake-case cause. */
  reason: string;
  /** `ErrorInfo.domain`. */
  domain: string;
  /** `ErrorInfo.metadata`: facts about this occurrence, as strings. */
  metadata: Readonly<Record<string, string>>;
  /** `BadRequest.field_violations`; empty when the status has no BadRequest. */
  fieldViolations: readonly FieldViolation[];
  /** `RetryInfo.retry_delay` in milliseconds; undefined when not retriable (no RetryInfo). */
  retryDelayMs: number | undefined;
}

/** The google.rpc.Status of a failed call, serialized for {@link STATUS_DETAILS_TRAILER}. */
export function encodeStatusDetails(
  status: { code: number; message: string },
  details: StatusDetails,
): Uint8Array {
  const packed: Any[] = [
    anyPack(
      googleRpc.ErrorInfoSchema,
      create(googleRpc.ErrorInfoSchema, {
        reason: details.reason,
        domain: details.domain,
        metadata: { ...details.metadata },
      }),
    ),
  ];
  if (details.fieldViolations.length > 0) {
    const fieldViolations = details.fieldViolations.map(({ field, description }) => ({
      field,
      description,
    }));
    packed.push(
      anyPack(googleRpc.BadRequestSchema, create(googleRpc.BadRequestSchema, { fieldViolations })),
    );
  }
  if (details.retryDelayMs !== undefined) {
    const retryDelay = durationFromMs(details.retryDelayMs);
    packed.push(
      anyPack(googleRpc.RetryInfoSchema, create(googleRpc.RetryInfoSchema, { retryDelay })),
    );
  }
  return toBinary(
    googleRpc.StatusSchema,
    create(googleRpc.StatusSchema, { code: status.code, message: status.message, details: packed }),
  );
}

/**
 * The details of a serialized google.rpc.Status; undefined when the bytes do not parse. Details
 * of types this system does not send are skipped; a status without ErrorInfo has reason "".
 */
export function decodeStatusDetails(bytes: Uint8Array): StatusDetails | undefined {
  let status: googleRpc.Status;
  try {
    status = fromBinary(googleRpc.StatusSchema, bytes);
  } catch {
    return undefined;
  }
  const decoded: StatusDetails = {
    reason: "",
    domain: "",
    metadata: {},
    fieldViolations: [],
    retryDelayMs: undefined,
  };
  for (const any of status.details) {
    try {
      const info = anyUnpack(any, googleRpc.ErrorInfoSchema);
      if (info !== undefined) {
        decoded.reason = info.reason;
        decoded.domain = info.domain;
        decoded.metadata = { ...info.metadata };
        continue;
      }
      const badRequest = anyUnpack(any, googleRpc.BadRequestSchema);
      if (badRequest !== undefined) {
        decoded.fieldViolations = badRequest.fieldViolations.map(({ field, description }) => ({
          field,
          description,
        }));
        continue;
      }
      const retry = anyUnpack(any, googleRpc.RetryInfoSchema);
      if (retry !== undefined) {
        decoded.retryDelayMs = retry.retryDelay === undefined ? 0 : durationMs(retry.retryDelay);
      }
    } catch {
      // A detail that does not parse is dropped; the others still stand.
    }
  }
  return decoded;
}
