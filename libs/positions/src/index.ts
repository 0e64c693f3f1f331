// The fencing epoch and the Kafka offset, each one branded bigint from edge to edge: Redis
// scripts (redis-edge), protobuf messages (proto-edge) and decimal text fields convert here and
// nowhere else. See README.md.
export {
  compareEpochs,
  type Epoch,
  formatEpoch,
  maxEpoch,
  NO_EPOCH,
  parseEpoch,
  toEpoch,
} from "./epoch";
export {
  asOffset,
  formatOffset,
  NO_OFFSET,
  type Offset,
  parseOffset,
  parseOffsetOrNone,
  toOffset,
  toOffsetOrNone,
} from "./offset";
export { convertOr, PositionError, type PositionErrorCode } from "./position-error";
export {
  epochFromProto,
  epochToProto,
  offsetFromProto,
  offsetOrNoneFromProto,
  offsetToProto,
} from "./proto-edge";
export {
  epochFromScript,
  epochToScript,
  epochToScriptNumber,
  MAX_SCRIPT_EPOCH,
} from "./redis-edge";
