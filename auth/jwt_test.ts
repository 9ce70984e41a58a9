import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { SignJWT } from "jose";
import { createVerifier, signToken } from "./jwt.ts";

const SECRET = "a-test-secret-that-is-long-enough-for-hs256";
const key = new TextEncoder().encode(SECRET);
const verify = createVerifier({ kind: "hs256", secret: SECRET });

function unsigned(payload: Record<string, unknown>): string {
  const enc = (o: unknown) =>
    btoa(JSON.stringify(o)).replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_");
  return `${enc({ alg: "none", typ: "JWT" })}.${enc(payload)}.`;
}

Deno.test("createVerifier() accepts a token signed with the secret and reads its claims", async () => {
  const token = await signToken(
    SECRET,
    { sub: "alice", name: "Alice", picture: "https://x.example/a.png" },
    60,
  );
  assert.deepEqual(await verify(token), { sub: "alice", name: "Alice", picture: "https://x.example/a.png" });
});

Deno.test("createVerifier() refuses expired, foreign, unsigned and malformed tokens", async () => {
  const now = Math.floor(Date.now() / 1000);
  const expired = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice")
    .setExpirationTime(now - 10).sign(key);
  const foreign = await signToken("another-secret-that-is-long-enough-for-hs256", { sub: "alice" }, 60);
  const noExp = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice").sign(key);
  const badSub = await signToken(SECRET, { sub: "has space" }, 60);
  const none = unsigned({ sub: "alice", exp: now + 60 });
  for (const token of [expired, foreign, noExp, badSub, none, "garbage", "a.b.c", ""]) {
    assert.equal(await verify(token), null, token);
  }
});

Deno.test("createVerifier() enforces issuer and audience when configured", async () => {
  const strict = createVerifier({
    kind: "hs256",
    secret: SECRET,
    issuer: "https://id.example",
    audience: "chat",
  });
  const now = Math.floor(Date.now() / 1000);
  const good = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice")
    .setIssuer("https://id.example").setAudience("chat").setExpirationTime(now + 60).sign(key);
  const wrongIss = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice")
    .setIssuer("https://evil.example").setAudience("chat").setExpirationTime(now + 60).sign(key);
  assert.equal((await strict(good))?.sub, "alice");
  assert.equal(await strict(wrongIss), null);
});

Deno.test("createVerifier() ignores a picture that is not an http(s) URL and trims long names", async () => {
  const token = await signToken(SECRET, {
    sub: "bob",
    name: ` ${"n".repeat(150)} `,
    picture: "javascript:alert(1)",
  }, 60);
  const claims = await verify(token);
  assert.equal(claims?.name, "n".repeat(100));
  assert.equal(claims?.picture, undefined);
});

Deno.test("createVerifier() remembers a verified token, and refuses it once it has expired", async () => {
  const clock = FakeTimers.install({ now: Date.UTC(2026, 10, 25), toFake: ["Date"] });
  try {
    const token = await signToken(SECRET, { sub: "alice", name: "Alice" }, 60);
    const verifyCached = createVerifier({ kind: "hs256", secret: SECRET });
    assert.equal((await verifyCached(token))?.sub, "alice");
    assert.equal((await verifyCached(token))?.sub, "alice");
    clock.tick(59_000);
    assert.equal((await verifyCached(token))?.sub, "alice");
    clock.tick(2_000);
    assert.equal(await verifyCached(token), null);
  } finally {
    clock.uninstall();
  }
});
