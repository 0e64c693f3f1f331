// geoctl as a library, for tests and embedding: the command tree and the pieces it is made of.

export { type ContextEntry, type ContextFile, resolveConnection } from "./connection";
export { EXIT_CODE_HELP, ExitCode } from "./exit-codes";
export { planFlow } from "./flow-plan";
export { convertMm2, type Mm2Conversion } from "./mm2/convert-mm2";
export { buildProgram, runGeoctl } from "./program";
export { referenceMarkdown } from "./reference";
