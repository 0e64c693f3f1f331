import assert from "node:assert/strict";
import { test } from "node:test";
import { saslConversation } from "./sasl";

test("SCRAM-SHA-256 follows RFC 7677's example exchange and verifies the server", async () => {
  const scram = saslConversation(
    { mechanism: "scram-sha-256", username: "user", password: "pencil" },
    "rOprNGfwEbeRWgbNEkqO",
  );
  assert.equal((await scram.first()).toString(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  const final = await scram.next(
    Buffer.from(
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    ),
  );
  assert.equal(
    final?.toString(),
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  assert.equal(
    await scram.next(Buffer.from("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")),
    null,
  );
});

test("SCRAM refuses a server that does not know the password, a foreign nonce, few iterations", async () => {
  const credentials = { mechanism: "scram-sha-512", username: "a=b,c", password: "p" } as const;
  const scram = saslConversation(credentials, "abc");
  assert.equal((await scram.first()).toString(), "n,,n=a=3Db=2Cc,r=abc");
  await scram.next(Buffer.from("r=abcdef,s=c2FsdA==,i=4096"));
  await assert.rejects(scram.next(Buffer.from("v=AAAA")), /signature does not verify/);
  const foreign = saslConversation(credentials, "abc");
  await assert.rejects(foreign.next(Buffer.from("r=xyz,s=c2FsdA==,i=4096")), /foreign nonce/);
  const weak = saslConversation(credentials, "abc");
  await assert.rejects(weak.next(Buffer.from("r=abcd,s=c2FsdA==,i=1000")), /at least 4096/);
  const refused = saslConversation(credentials, "abc");
  await assert.rejects(refused.next(Buffer.from("e=invalid-proof")), /server refused/);
});

test("PLAIN sends authzid, user and password NUL-separated, in one message", async () => {
  const plain = saslConversation({ mechanism: "plain", username: "geo", password: "pw" });
  assert.deepEqual([...(await plain.first())], [0, ...Buffer.from("geo"), 0, ...Buffer.from("pw")]);
  assert.equal(await plain.next(Buffer.alloc(0)), null);
});
