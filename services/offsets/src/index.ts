export { startOffsets } from "./offsets-service";
