// Progress and offset-map records of replicated units, kept in the TARGET cluster so that they
// survive the loss of the source region. Record formats: README.md.
export {
  type EnsureTopicsOptions,
  ensureProgressTopics,
  PROGRESS_TOPIC_CONFIGS,
} from "./ensure-topics";
export {
  createProgressStore,
  highestEpochs,
  type ProgressStore,
  type ProgressStoreOptions,
  type ProgressTombstone,
  scanTopic,
} from "./progress-store";
export {
  decodeProgressRecord,
  decodeSegmentRecord,
  encodeProgressValue,
  encodeSegmentValue,
  FORMAT_VERSION,
  ProgressFormatError,
  progressKey,
  segmentKey,
} from "./record-format";
export { translateOffset } from "./translate";
export {
  type OffsetMapSegment,
  parseUnitId,
  type SegmentKey,
  type UnitKey,
  type UnitProgress,
  unitId,
} from "./unit";
