import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, GeoError } from "@geo/grpc";
import { describeFailure, ExitCode } from "./exit-codes";

const coordinator = { service: "coordinator" as const, address: "127.0.0.1:7100" };

describe("describeFailure", () => {
  it("gives each kind of failure its own exit code", () => {
    const codesByExit = new Map<number, Code[]>([
      [ExitCode.NOT_FOUND, [Code.NOT_FOUND]],
      [ExitCode.UNREACHABLE, [Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED]],
      [ExitCode.FAILED_PRECONDITION, [Code.FAILED_PRECONDITION, Code.ABORTED, Code.ALREADY_EXISTS]],
      [ExitCode.INVALID, [Code.INVALID_ARGUMENT]],
      [ExitCode.UNIMPLEMENTED, [Code.UNIMPLEMENTED]],
      [ExitCode.DENIED, [Code.PERMISSION_DENIED, Code.UNAUTHENTICATED]],
      [ExitCode.FAILURE, [Code.INTERNAL, Code.UNKNOWN]],
    ]);
    for (const [exit, codes] of codesByExit) {
      for (const code of codes) {
        assert.equal(describeFailure(new GeoError(code, "x")).exitCode, exit, Code[code]);
      }
    }
    assert.equal(new Set(Object.values(ExitCode)).size, Object.values(ExitCode).length);
  });

  it("says which server could not be reached and how to point elsewhere, in one line", () => {
    const refused = describeFailure(
      new GeoError(
        Code.UNAVAILABLE,
        "No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7100. Resolution note: ",
      ),
      coordinator,
    );
    assert.equal(
      refused.message,
      "cannot reach the coordinator at 127.0.0.1:7100 (ECONNREFUSED); set it with --coordinator, GEOCTL_COORDINATOR or a context (geoctl context --help)",
    );
    // A server that answers UNAVAILABLE itself is reachable: its reason is kept.
    const busy = describeFailure(
      new GeoError(Code.UNAVAILABLE, "no coordinator leads right now; retry"),
      coordinator,
    );
    assert.equal(
      busy.message,
      "the coordinator at 127.0.0.1:7100 is unavailable: no coordinator leads right now; retry",
    );
    assert.equal(busy.exitCode, ExitCode.UNREACHABLE);
  });

  it("names UNIMPLEMENTED methods and non-gRPC ports plainly", () => {
    const missing = describeFailure(
      new GeoError(
        Code.UNIMPLEMENTED,
        "geo.health.v1.ReplicationHealthService/Switchover is not implemented",
      ),
      { service: "health", address: "h:7300" },
    );
    assert.match(
      missing.message,
      /^the health service at h:7300 does not offer this yet: .*Switchover/,
    );
    const http = describeFailure(
      new GeoError(Code.UNIMPLEMENTED, "Received HTTP status code 404"),
      coordinator,
    );
    assert.equal(http.exitCode, ExitCode.UNREACHABLE);
    assert.match(http.message, /is not the coordinator's gRPC port \(it answered HTTP 404\)/);
  });
});
