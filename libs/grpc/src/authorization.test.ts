// The method → role table and role inclusion, without a server.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PeerCertificate } from "node:tls";
import { certificateNames, hasRole, requiredRole } from "./authorization.js";

describe("authorization rules", () => {
  it("needs the documented role per method; new methods are closed unless they only read", () => {
    const coordinator = "geo.coordinator.v1.CoordinatorService";
    const health = "geo.health.v1.ReplicationHealthService";
    const offsets = "geo.offsets.v1.OffsetTranslationService";
    assert.equal(requiredRole(coordinator, "ListFlows"), "viewer");
    assert.equal(requiredRole(coordinator, "CreateFlow"), "operator");
    assert.equal(requiredRole(coordinator, "PauseFlow"), "operator");
    assert.equal(requiredRole(coordinator, "DeleteFlow"), "admin");
    assert.equal(requiredRole(health, "WatchRegionState"), "viewer");
    assert.equal(requiredRole(health, "Failover"), "admin");
    assert.equal(requiredRole(offsets, "CommitTranslatedOffsets"), "operator");
    assert.equal(requiredRole("geo.agent.v1.AgentSessionService", "Connect"), "agent");
    assert.equal(requiredRole("grpc.health.v1.Health", "Check"), "public");
    assert.equal(requiredRole(coordinator, "ReassignEverything"), "admin");
    assert.equal(requiredRole(coordinator, "GetSomethingNew"), "viewer");
  });

  it("includes lower roles in higher ones, and keeps agents to their session and reads", () => {
    assert.ok(hasRole(["admin"], "operator") && hasRole(["admin"], "viewer"));
    assert.ok(hasRole(["operator"], "viewer") && !hasRole(["operator"], "admin"));
    assert.ok(!hasRole(["viewer"], "operator"));
    assert.ok(hasRole(["agent"], "agent") && hasRole(["agent"], "viewer"));
    assert.ok(!hasRole(["agent"], "operator") && !hasRole(["admin"], "agent"));
    assert.ok(hasRole(["service"], "admin") && hasRole(["service"], "agent"));
  });

  it("names a certificate by its subject CN and every SAN entry", () => {
    const certificate = {
      subject: { CN: "agent-eu-1" },
      subjectaltname: "DNS:agent-eu-1.geo.internal, IP Address:10.0.0.7, URI:spiffe://geo/agent",
    } as unknown as PeerCertificate;
    assert.deepEqual(certificateNames(certificate), [
      "agent-eu-1",
      "agent-eu-1.geo.internal",
      "10.0.0.7",
      "spiffe://geo/agent",
    ]);
    assert.deepEqual(certificateNames(undefined), []);
  });
});
