export { startCoordinator } from "./coordinator-service";
