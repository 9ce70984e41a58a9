import assert from "node:assert/strict";
import Pusher from "pusher";
import {
  apiStringToSign,
  md5Hex,
  signChannelAuth,
  timingSafeEqualString,
  verifyApiRequest,
  verifyChannelAuth,
} from "./signature.ts";

// The real npm:pusher library is the reference signer; it makes no request here.
const APP = { appId: "42", key: "app-key", secret: "app-secret" };
const pusher = new Pusher({ ...APP, host: "127.0.0.1", useTLS: false });
const otherSecret = new Pusher({ ...APP, secret: "other-secret", host: "127.0.0.1" });
const credentials = { key: APP.key, secret: APP.secret };
const PATH = "/apps/42/events";
const BODY = JSON.stringify({ name: "e", channels: ["a"], data: "{}" });

function signedQuery(signer: Pusher, body = BODY): URLSearchParams {
  return new URLSearchParams(signer.createSignedQueryString({ method: "POST", path: PATH, body }));
}

Deno.test("signChannelAuth() matches npm:pusher for a private channel", () => {
  const expected = pusher.authorizeChannel("123.456", "private-room-1");
  const auth = signChannelAuth(credentials, { socketId: "123.456", channel: "private-room-1" });
  assert.equal(auth, expected.auth);
});

Deno.test("signChannelAuth() matches npm:pusher for presence channel_data", () => {
  const expected = pusher.authorizeChannel("1.2", "presence-room-1", {
    user_id: "u1",
    user_info: { name: "Ada" },
  });
  const auth = signChannelAuth(credentials, {
    socketId: "1.2",
    channel: "presence-room-1",
    channelData: expected.channel_data,
  });
  assert.equal(auth, expected.auth);
});

Deno.test("verifyChannelAuth() accepts an auth made by npm:pusher", () => {
  const { auth } = pusher.authorizeChannel("1.2", "private-a");
  assert.equal(verifyChannelAuth(credentials, { socketId: "1.2", channel: "private-a", auth }), true);
});

Deno.test("verifyChannelAuth() rejects a signature made with another secret", () => {
  const { auth } = otherSecret.authorizeChannel("1.2", "private-a");
  assert.equal(
    verifyChannelAuth(credentials, { socketId: "1.2", channel: "private-a", auth }),
    false,
  );
});

Deno.test("verifyChannelAuth() rejects an auth for another socket, channel or key", () => {
  const { auth } = pusher.authorizeChannel("1.2", "private-a");
  const request = { socketId: "1.2", channel: "private-a", auth };
  assert.equal(verifyChannelAuth(credentials, { ...request, socketId: "1.3" }), false);
  assert.equal(verifyChannelAuth(credentials, { ...request, channel: "private-b" }), false);
  assert.equal(verifyChannelAuth({ ...credentials, key: "other-key" }, request), false);
  assert.equal(verifyChannelAuth(credentials, { ...request, auth: auth.slice(0, -1) }), false);
});

Deno.test("verifyChannelAuth() rejects presence channel_data changed after signing", () => {
  const signed = pusher.authorizeChannel("1.2", "presence-a", { user_id: "u1" });
  const request = {
    socketId: "1.2",
    channel: "presence-a",
    channelData: signed.channel_data,
    auth: signed.auth,
  };
  assert.equal(verifyChannelAuth(credentials, request), true);
  assert.equal(
    verifyChannelAuth(credentials, { ...request, channelData: '{"user_id":"admin"}' }),
    false,
  );
});

Deno.test("timingSafeEqualString() compares content and length", () => {
  assert.equal(timingSafeEqualString("abc", "abc"), true);
  assert.equal(timingSafeEqualString("abc", "abd"), false);
  assert.equal(timingSafeEqualString("abc", "abcd"), false);
  assert.equal(timingSafeEqualString("", ""), true);
});

Deno.test("md5Hex() hashes the UTF-8 bytes of a string", () => {
  assert.equal(md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  assert.equal(
    md5Hex("The quick brown fox jumps over the lazy dog"),
    "9e107d9d372bb6826bd81d3542a419d6",
  );
  assert.equal(md5Hex("é"), "66ddcd97cfdeabb2f6fb8a999b4bc76f");
});

Deno.test("apiStringToSign() lower-cases and sorts keys and leaves out auth_signature", () => {
  const query = new URLSearchParams("b=2&A=1&auth_signature=x&c=3");
  assert.equal(apiStringToSign("post", "/apps/1/events", query), "POST\n/apps/1/events\na=1&b=2&c=3");
});

Deno.test("verifyApiRequest() accepts a request signed by npm:pusher", () => {
  const result = verifyApiRequest(credentials, {
    method: "POST",
    path: PATH,
    query: signedQuery(pusher),
    body: BODY,
  });
  assert.deepEqual(result, { ok: true });
});

Deno.test("verifyApiRequest() rejects a request signed with another secret", () => {
  const result = verifyApiRequest(credentials, {
    method: "POST",
    path: PATH,
    query: signedQuery(otherSecret),
    body: BODY,
  });
  assert.equal(result.ok, false);
  assert.match(!result.ok ? result.error : "", /Invalid signature/);
});

Deno.test("verifyApiRequest() enforces the 600 s timestamp window", () => {
  const request = { method: "POST", path: PATH, query: signedQuery(pusher), body: BODY };
  const now = Date.now();
  assert.equal(verifyApiRequest(credentials, { ...request, nowMs: now + 590_000 }).ok, true);
  assert.equal(verifyApiRequest(credentials, { ...request, nowMs: now - 590_000 }).ok, true);
  const late = verifyApiRequest(credentials, { ...request, nowMs: now + 602_000 });
  assert.match(!late.ok ? late.error : "", /Timestamp expired/);
  assert.equal(verifyApiRequest(credentials, { ...request, nowMs: now - 602_000 }).ok, false);
});

Deno.test("verifyApiRequest() rejects a body that does not match body_md5", () => {
  const result = verifyApiRequest(credentials, {
    method: "POST",
    path: PATH,
    query: signedQuery(pusher),
    body: BODY.replace('"e"', '"f"'),
  });
  assert.match(!result.ok ? result.error : "", /body_md5/);
});

Deno.test("verifyApiRequest() rejects a changed path, key, version or extra parameter", () => {
  const request = { method: "POST", path: PATH, query: signedQuery(pusher), body: BODY };
  assert.equal(verifyApiRequest(credentials, { ...request, path: "/apps/43/events" }).ok, false);
  const withParam = new URLSearchParams(request.query);
  withParam.set("info", "user_count");
  assert.equal(verifyApiRequest(credentials, { ...request, query: withParam }).ok, false);
  const otherKey = new URLSearchParams(request.query);
  otherKey.set("auth_key", "other");
  assert.deepEqual(verifyApiRequest(credentials, { ...request, query: otherKey }), {
    ok: false,
    error: "Unknown auth_key",
  });
  const otherVersion = new URLSearchParams(request.query);
  otherVersion.set("auth_version", "2.0");
  assert.equal(verifyApiRequest(credentials, { ...request, query: otherVersion }).ok, false);
});

Deno.test("verifyApiRequest() rejects a request without a signature", () => {
  const query = signedQuery(pusher);
  query.delete("auth_signature");
  const result = verifyApiRequest(credentials, { method: "POST", path: PATH, query, body: BODY });
  assert.equal(result.ok, false);
});
