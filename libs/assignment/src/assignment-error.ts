import { CodedError } from "@geo/errors";

export type AssignmentErrorCode =
  | "INVALID_UNIT"
  | "DUPLICATE_UNIT"
  | "INVALID_AGENT"
  | "DUPLICATE_AGENT"
  | "INVALID_OPTION";

/** Refusal of an input the algorithm cannot assign without guessing. */
export class AssignmentError extends CodedError<AssignmentErrorCode> {
  constructor(code: AssignmentErrorCode, message: string) {
    super(code, message);
  }
}
