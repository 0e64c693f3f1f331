export { startHealth } from "./health-service";
