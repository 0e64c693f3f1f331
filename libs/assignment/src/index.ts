export { AssignmentError, type AssignmentErrorCode } from "./assignment-error";
export {
  type AssignmentAgent,
  type AssignmentInput,
  type AssignmentOptions,
  type AssignmentResult,
  type AssignmentStats,
  type AssignmentUnit,
  computeAssignment,
  DEFAULT_MAX_LOAD_RATIO,
  type Move,
} from "./compute-assignment";
