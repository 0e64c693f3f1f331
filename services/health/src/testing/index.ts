// Test support, not part of the service: `@geo/health-service/testing`. Kept out of the main
// entry point so the service never loads fake dependencies by accident.
export { createFakes, type Fakes, lagOf } from "./fake-dependencies";
export { ORDERS_GROUP, ordersGroupConfig, ordersTransition } from "./orders-group";
