import { grpcHealthV1, type Health } from "@geo/proto";
import { Code } from "./code.js";
import { GeoError } from "./geo-error.js";
import type { HealthMonitor, ServingStatus } from "./health-monitor.js";
import type { ServiceImpl } from "./service-impl.js";

const { HealthCheckResponse_ServingStatus: Wire } = grpcHealthV1;

function toWire(status: ServingStatus | undefined): grpcHealthV1.HealthCheckResponse_ServingStatus {
  if (status === "SERVING") return Wire.SERVING;
  if (status === "NOT_SERVING") return Wire.NOT_SERVING;
  return Wire.SERVICE_UNKNOWN;
}

/** @internal `grpc.health.v1.Health` answering from a health monitor. */
export function createHealthServiceImpl(monitor: HealthMonitor): ServiceImpl<typeof Health> {
  return {
    check(request) {
      const status = monitor.status(request.service);
      if (status === undefined) {
        throw new GeoError(Code.NOT_FOUND, `unknown service "${request.service}"`);
      }
      return { status: toWire(status) };
    },

    list() {
      const statuses: Record<string, { status: grpcHealthV1.HealthCheckResponse_ServingStatus }> =
        {};
      for (const [service, status] of monitor.statuses())
        statuses[service] = { status: toWire(status) };
      return { statuses };
    },

    async *watch(request, context) {
      // Wakes the loop on every change; statuses are re-read so no intermediate state is queued.
      let wake: (() => void) | undefined;
      let changed = false;
      const unsubscribe = monitor.onChange(() => {
        changed = true;
        wake?.();
      });
      const aborted = new Promise<void>((resolve) => {
        if (context.signal.aborted) resolve();
        context.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      try {
        let last: grpcHealthV1.HealthCheckResponse_ServingStatus | undefined;
        while (!context.signal.aborted) {
          changed = false;
          const status = toWire(monitor.status(request.service));
          if (status !== last) {
            last = status;
            yield { status };
          }
          if (changed) continue;
          await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
          wake = undefined;
        }
      } finally {
        unsubscribe();
      }
    },
  };
}
