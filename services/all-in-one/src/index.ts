export { agentRegions, startAllInOne } from "./all-in-one";
