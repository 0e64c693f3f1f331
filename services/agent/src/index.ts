export { startAgent } from "./agent-service";
