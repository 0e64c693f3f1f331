export {
  CodedError,
  type CodedErrorOptions,
  ERROR_CODE_PATTERN,
  isCodedError,
} from "./coded-error.js";
