import { WireReader } from "./wire-reader";
import { WireWriter } from "./wire-writer";

// InitProducerId v0-v1 (v2 is flexible). With a null transactional id any broker
// answers, allocating a fresh producer id with epoch 0: an idempotent producer.

export const INIT_PRODUCER_ID_MIN_VERSION = 0;
export const INIT_PRODUCER_ID_MAX_VERSION = 1;

export function encodeInitProducerIdRequest(req: {
  transactionalId: string | null;
  transactionTimeoutMs: number;
}): Buffer {
  return new WireWriter(16).string(req.transactionalId).int32(req.transactionTimeoutMs).finish();
}

export interface InitProducerIdResponse {
  throttleTimeMs: number;
  errorCode: number;
  producerId: bigint;
  producerEpoch: number;
}

export function decodeInitProducerIdResponse(buf: Buffer): InitProducerIdResponse {
  const r = new WireReader(buf, "InitProducerId response");
  return {
    throttleTimeMs: r.int32(),
    errorCode: r.int16(),
    producerId: r.int64(),
    producerEpoch: r.int16(),
  };
}
