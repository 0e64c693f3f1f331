// Limits every server enforces whatever the client does: request size, and the time a unary
// call may take (a handler that never looks at its signal is answered at the deadline anyway).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ReplicationHealthService } from "@geo/proto";
import { Code } from "./code.js";
import type { GeoError } from "./geo-error.js";
import { clientFor, startServer } from "./test-support.js";

describe("server limits", () => {
  it("refuses a request larger than maxReceiveMessageBytes before the handler runs", async () => {
    let calls = 0;
    const { server, address } = await startServer(
      (s) =>
        s.addService(ReplicationHealthService, {
          getRegionState: () => {
            calls++;
            return {};
          },
        }),
      { maxReceiveMessageBytes: 64 * 1024 },
    );
    const client = clientFor(ReplicationHealthService, address);
    try {
      await client.getRegionState({ flowGroup: "small" });
      await assert.rejects(
        client.getRegionState({ flowGroup: "x".repeat(200_000) }),
        (error: GeoError) => error.code === Code.RESOURCE_EXHAUSTED,
      );
      assert.equal(calls, 1);
    } finally {
      client.close();
      await server.stop({ graceMs: 0 });
    }
  });

  it("answers DEADLINE_EXCEEDED at maxUnaryCallMs even if the handler never returns", async () => {
    let aborted = false;
    const { server, address } = await startServer(
      (s) =>
        s.addService(ReplicationHealthService, {
          getRegionState: (_request, context) => {
            context.signal.addEventListener("abort", () => {
              aborted = true;
            });
            return new Promise(() => {});
          },
        }),
      { maxUnaryCallMs: 300 },
    );
    const client = clientFor(ReplicationHealthService, address, 20_000);
    try {
      const started = Date.now();
      await assert.rejects(
        client.getRegionState({}),
        (error: GeoError) => error.code === Code.DEADLINE_EXCEEDED,
      );
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
      assert.ok(aborted, "the handler's signal aborted");
    } finally {
      client.close();
      await server.stop({ graceMs: 0 });
    }
  });
});
