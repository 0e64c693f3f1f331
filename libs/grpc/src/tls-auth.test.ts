// TLS, mutual TLS, certificate rotation and authorization with real certificates made by
// openssl: who can connect, who may call what, and that new connections use a rotated
// certificate while streams opened before keep going.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createTestPki, type TestPki } from "@geo/local-runtime";
import { Health, ReplicationHealthService } from "@geo/proto";
import { createAuthorizer, type Principal } from "./authorization.js";
import { Code } from "./code.js";
import type { GeoError } from "./geo-error.js";
import { createGrpcClient } from "./grpc-client.js";
import { startServer, waitFor } from "./test-support.js";
import { clientTlsCredentials, serverTlsCredentials, type TlsFiles } from "./tls.js";

const dir = mkdtempSync(join(tmpdir(), "geo-tls-test-"));
let pki: TestPki;
let rogue: TestPki;
const token = "t0ken-of-the-ci-pipeline-0123456789";

before(() => {
  pki = createTestPki(join(dir, "pki"));
  rogue = createTestPki(join(dir, "rogue"), "rogue-ca");
});
after(() => rmSync(dir, { recursive: true, force: true }));

const principals: Principal[] = [
  { name: "alice", certificate: "alice", roles: ["admin"] },
  { name: "bob", certificate: "bob", roles: ["viewer"] },
  { name: "ci", token, roles: ["operator"] },
];

function clientTo(address: string, files: TlsFiles | undefined, metadata?: Record<string, string>) {
  return createGrpcClient(ReplicationHealthService, {
    address,
    defaultTimeoutMs: 5000,
    ...(files === undefined ? {} : { credentials: clientTlsCredentials(files) }),
    ...(metadata === undefined ? {} : { metadata }),
  });
}

async function codeOf(promise: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { code: (error as GeoError).code, message: (error as GeoError).message };
  }
  return { code: Code.OK, message: "" };
}

async function secureServer(files: TlsFiles) {
  let failovers = 0;
  const started = await startServer(
    (server) =>
      server.addService(ReplicationHealthService, {
        failover: () => {
          failovers++;
          return {};
        },
        listRegionStates: () => ({}),
        async *watchRegionState(_request, context) {
          while (!context.signal.aborted) {
            yield {};
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        },
      }),
    {
      credentials: serverTlsCredentials(files),
      beforeCall: createAuthorizer({ principals }),
    },
  );
  return { ...started, failovers: () => failovers };
}

describe("mutual TLS and authorization", () => {
  it("lets trusted clients in, refuses clients without or with an untrusted certificate", async () => {
    const server = await secureServer({ ...pki.issue("server"), caFile: pki.caFile });
    const alice = { ...pki.issue("alice"), caFile: pki.caFile };
    try {
      const ok = clientTo(server.address, alice);
      await ok.listRegionStates({});
      ok.close();
      const anonymous = createGrpcClient(ReplicationHealthService, {
        address: server.address,
        defaultTimeoutMs: 3000,
        credentials: (await import("@grpc/grpc-js")).credentials.createSsl(
          (await import("node:fs")).readFileSync(pki.caFile),
        ),
      });
      assert.equal((await codeOf(anonymous.listRegionStates({}))).code, Code.UNAVAILABLE);
      anonymous.close();
      const untrusted = clientTo(server.address, { ...rogue.issue("alice"), caFile: pki.caFile });
      assert.equal((await codeOf(untrusted.listRegionStates({}))).code, Code.UNAVAILABLE);
      untrusted.close();
      const plaintext = createGrpcClient(Health, {
        address: server.address,
        defaultTimeoutMs: 3000,
      });
      assert.equal((await codeOf(plaintext.check({}))).code, Code.UNAVAILABLE);
      plaintext.close();
      assert.equal(server.failovers(), 0);
    } finally {
      await server.server.stop({ graceMs: 0 });
    }
  });

  it("maps certificates and tokens to roles; a viewer cannot fail over", async () => {
    const server = await secureServer({ ...pki.issue("server"), caFile: pki.caFile });
    const bob = { ...pki.issue("bob"), caFile: pki.caFile };
    const mallory = { ...pki.issue("mallory"), caFile: pki.caFile };
    const alice = { ...pki.issue("alice"), caFile: pki.caFile };
    try {
      const viewer = clientTo(server.address, bob);
      await viewer.listRegionStates({});
      const denied = await codeOf(viewer.failover({ flowGroup: "g", targetRegion: "eu" }));
      assert.equal(denied.code, Code.PERMISSION_DENIED);
      assert.match(denied.message, /Failover needs the admin role; "bob" has viewer/);
      viewer.close();
      const stranger = clientTo(server.address, mallory);
      const unknown = await codeOf(stranger.listRegionStates({}));
      assert.equal(unknown.code, Code.UNAUTHENTICATED);
      assert.match(unknown.message, /needs the viewer role/);
      stranger.close();
      const ci = clientTo(server.address, mallory, { authorization: `Bearer ${token}` });
      assert.equal((await codeOf(ci.failover({}))).code, Code.PERMISSION_DENIED);
      await ci.listRegionStates({});
      ci.close();
      const forged = clientTo(server.address, alice, { authorization: "Bearer not-the-token" });
      const refused = await codeOf(forged.failover({}));
      assert.equal(refused.code, Code.UNAUTHENTICATED);
      assert.ok(!refused.message.includes("not-the-token"));
      forged.close();
      assert.equal(server.failovers(), 0, "nothing changed");
      const admin = clientTo(server.address, alice);
      await admin.failover({});
      admin.close();
      assert.equal(server.failovers(), 1);
    } finally {
      await server.server.stop({ graceMs: 0 });
    }
  });

  it("serves a rotated certificate on new connections; open streams go on", async () => {
    const first = pki.issue("server-a");
    const live = { certFile: join(dir, "live.pem"), keyFile: join(dir, "live-key.pem") };
    copyFileSync(first.certFile, live.certFile);
    copyFileSync(first.keyFile, live.keyFile);
    const server = await secureServer({ ...live, caFile: pki.caFile, reloadIntervalMs: 200 });
    const fresh = createTestPki(join(dir, "next"), "next-ca");
    const alice = { ...pki.issue("alice"), caFile: pki.caFile };
    try {
      const before = clientTo(server.address, alice);
      const stream = before.watchRegionState({}, { timeoutMs: 60_000 })[Symbol.asyncIterator]();
      await stream.next();
      // The server's new certificate comes from another CA, so only a client trusting that CA
      // can connect once the server uses it.
      const next = fresh.issue("server-b");
      copyFileSync(next.certFile, live.certFile);
      copyFileSync(next.keyFile, live.keyFile);
      const trustsNew = { ...alice, caFile: fresh.caFile };
      await waitFor(
        "the rotated certificate on new connections",
        async () => {
          const client = clientTo(server.address, trustsNew);
          const { code } = await codeOf(client.listRegionStates({}, { timeoutMs: 1000 }));
          client.close();
          return code !== Code.UNAVAILABLE;
        },
        15_000,
      );
      const trustsOld = clientTo(server.address, { ...alice, caFile: pki.caFile });
      assert.equal((await codeOf(trustsOld.listRegionStates({}))).code, Code.UNAVAILABLE);
      trustsOld.close();
      for (let i = 0; i < 3; i++) assert.equal((await stream.next()).done, false);
      await stream.return?.();
      before.close();
    } finally {
      await server.server.stop({ graceMs: 0 });
    }
  });
});
