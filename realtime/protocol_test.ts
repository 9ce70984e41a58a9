import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import fc from "fast-check";
import Pusher from "pusher";
import {
  authorizeSubscription,
  channelKind,
  checkProtocolVersion,
  connectionEstablishedFrame,
  errorFrame,
  eventFrame,
  isValidChannelName,
  isValidSocketId,
  MAX_MESSAGE_BYTES,
  memberAddedFrame,
  memberRemovedFrame,
  parseClientFrame,
  parsePresenceMember,
  subscriptionErrorFrame,
  subscriptionSucceededFrame,
  utf8ByteLength,
  verifySignin,
} from "./protocol.ts";

const APP = { appId: "1", key: "app-key", secret: "app-secret" };
const credentials = { key: APP.key, secret: APP.secret };
const pusher = new Pusher({ ...APP, host: "127.0.0.1" });

Deno.test("isValidChannelName() accepts Pusher's characters up to 200 long", () => {
  assert.equal(isValidChannelName("private-room-A_b=c@d,e.f;g"), true);
  assert.equal(isValidChannelName("a".repeat(200)), true);
  assert.equal(isValidChannelName("a".repeat(201)), false);
  assert.equal(isValidChannelName(""), false);
  assert.equal(isValidChannelName("room 1"), false);
  assert.equal(isValidChannelName("#server-to-user-1"), false);
  assert.equal(isValidChannelName("rööm"), false);
  assert.equal(isValidChannelName(42), false);
});

Deno.test("isValidSocketId() accepts only digits.digits", () => {
  assert.equal(isValidSocketId("123.456"), true);
  assert.equal(isValidSocketId("123"), false);
  assert.equal(isValidSocketId("1.2.3"), false);
  assert.equal(isValidSocketId("a.1"), false);
});

Deno.test("channelKind() tells channels apart by prefix", () => {
  assert.equal(channelKind("room-1"), "public");
  assert.equal(channelKind("private-room-1"), "private");
  assert.equal(channelKind("private-encrypted-room-1"), "encrypted");
  assert.equal(channelKind("presence-room-1"), "presence");
});

Deno.test("utf8ByteLength() equals the TextEncoder length for any string", () => {
  const encoder = new TextEncoder();
  fc.assert(fc.property(fc.string({ unit: "binary" }), (text) => {
    assert.equal(utf8ByteLength(text), encoder.encode(text).length);
  }));
  for (const text of ["\ud800", "\udc00", "\ud800a", "a\ud83d\ude00b", "é€"]) {
    assert.equal(utf8ByteLength(text), encoder.encode(text).length, JSON.stringify(text));
  }
});

Deno.test("checkProtocolVersion() accepts 7 and names the error code otherwise", () => {
  assert.equal(checkProtocolVersion("7"), null);
  assert.equal(checkProtocolVersion(null)?.code, 4008);
  assert.equal(checkProtocolVersion("x")?.code, 4006);
  assert.equal(checkProtocolVersion("4")?.code, 4007);
});

Deno.test("parseClientFrame() reads ping, pong, subscribe and unsubscribe", () => {
  assert.deepEqual(parseClientFrame('{"event":"pusher:ping","data":{}}'), { type: "ping" });
  assert.deepEqual(parseClientFrame('{"event":"pusher:pong","data":{}}'), { type: "pong" });
  const subscribe = JSON.stringify({
    event: "pusher:subscribe",
    data: { channel: "presence-a", auth: "k:s", channel_data: '{"user_id":"1"}' },
  });
  assert.deepEqual(parseClientFrame(subscribe), {
    type: "subscribe",
    channel: "presence-a",
    auth: "k:s",
    channelData: '{"user_id":"1"}',
  });
  assert.deepEqual(
    parseClientFrame('{"event":"pusher:unsubscribe","data":{"channel":"a"}}'),
    { type: "unsubscribe", channel: "a" },
  );
});

Deno.test("parseClientFrame() accepts subscribe data sent as a JSON string", () => {
  const frame = JSON.stringify({
    event: "pusher:subscribe",
    data: JSON.stringify({ channel: "room-1" }),
  });
  assert.deepEqual(parseClientFrame(frame), {
    type: "subscribe",
    channel: "room-1",
    auth: undefined,
    channelData: undefined,
  });
});

Deno.test("parseClientFrame() answers malformed JSON and shapes with an error", () => {
  for (const raw of ["{nope", "[]", '"text"', '{"data":{}}', '{"event":"pusher:subscribe"}']) {
    const frame = parseClientFrame(raw);
    assert.equal(frame.type, "error", raw);
  }
  const badAuth = parseClientFrame(
    JSON.stringify({ event: "pusher:subscribe", data: { channel: "private-a", auth: 1 } }),
  );
  assert.equal(badAuth.type, "error");
});

Deno.test("parseClientFrame() rejects a frame over 10 KB", () => {
  const data = "x".repeat(MAX_MESSAGE_BYTES);
  const frame = parseClientFrame(
    JSON.stringify({ event: "client-big", channel: "private-a", data }),
  );
  assert.equal(frame.type, "error");
  assert.match(frame.type === "error" ? frame.error.message : "", /exceeds 10240 bytes/);
  const multiByte = "é".repeat(MAX_MESSAGE_BYTES / 2);
  assert.equal(parseClientFrame(JSON.stringify({ event: multiByte })).type, "error");
});

Deno.test("parseClientFrame() reads a client event and JSON-encodes object data", () => {
  const frame = parseClientFrame(
    JSON.stringify({ event: "client-typing", channel: "private-a", data: { on: true } }),
  );
  assert.deepEqual(frame, {
    type: "client_event",
    event: "client-typing",
    channel: "private-a",
    data: '{"on":true}',
  });
  const text = parseClientFrame(
    JSON.stringify({ event: "client-typing", channel: "presence-a", data: "hi" }),
  );
  assert.equal(text.type === "client_event" ? text.data : null, "hi");
});

Deno.test("parseClientFrame() refuses client events outside private and presence channels", () => {
  for (const channel of ["public-a", "private-encrypted-a", "bad channel"]) {
    const frame = parseClientFrame(JSON.stringify({ event: "client-x", channel, data: {} }));
    assert.deepEqual(
      frame.type === "error" ? frame.error.code : null,
      4301,
      channel,
    );
  }
});

Deno.test("parseClientFrame() answers an unknown event with an error", () => {
  const frame = parseClientFrame('{"event":"pusher:whoami","data":{}}');
  assert.equal(frame.type, "error");
});

Deno.test("parseClientFrame() reads pusher:signin and refuses one without auth or user_data", () => {
  assert.deepEqual(parseClientFrame('{"event":"pusher:signin","data":{"auth":"k:s","user_data":"{}"}}'), {
    type: "signin",
    auth: "k:s",
    userData: "{}",
  });
  assert.equal(parseClientFrame('{"event":"pusher:signin","data":{}}').type, "error");
});

Deno.test("authorizeSubscription() refuses public channels with 403", () => {
  const decision = authorizeSubscription(credentials, {
    socketId: "1.1",
    channel: "room-1",
    auth: undefined,
    channelData: undefined,
  });
  assert.equal(decision.ok, false);
  assert.equal(decision.ok ? null : decision.error.status, 403);
});

Deno.test("authorizeSubscription() reads the user a private channel's signed channel_data names", () => {
  const signed = pusher.authorizeChannel("1.1", "private-room-a", {
    user_id: "carol",
    issued_at: 1234,
  } as { user_id: string });
  const request = { socketId: "1.1", channel: "private-room-a", auth: signed.auth };
  assert.deepEqual(authorizeSubscription(credentials, { ...request, channelData: signed.channel_data }), {
    ok: true,
    member: null,
    userId: "carol",
    issuedAt: 1234,
  });
  const swapped = authorizeSubscription(credentials, { ...request, channelData: '{"user_id":"dave"}' });
  assert.equal(swapped.ok, false, "channel_data changed after signing");
  const { auth } = pusher.authorizeChannel("1.1", "private-room-a");
  const unsigned = authorizeSubscription(credentials, { ...request, auth, channelData: signed.channel_data });
  assert.equal(unsigned.ok, false, "channel_data the signature does not cover");
});

Deno.test("verifySignin() accepts npm:pusher's authenticateUser signature for that socket only", () => {
  const signed = pusher.authenticateUser("1.1", { id: "carol", user_info: { name: "Carol" } });
  assert.deepEqual(
    verifySignin(credentials, { socketId: "1.1", auth: signed.auth, userData: signed.user_data }),
    {
      id: "carol",
      info: { name: "Carol" },
      userData: signed.user_data,
    },
  );
  assert.equal(
    verifySignin(credentials, { socketId: "1.2", auth: signed.auth, userData: signed.user_data }),
    null,
  );
  const other = pusher.authenticateUser("1.1", { id: "dave" });
  assert.equal(
    verifySignin(credentials, { socketId: "1.1", auth: signed.auth, userData: other.user_data }),
    null,
  );
  const noId = JSON.stringify({ name: "x" });
  const sign = (data: string) =>
    `${credentials.key}:${
      createHmac("sha256", credentials.secret).update(`1.1::user::${data}`).digest("hex")
    }`;
  assert.equal(verifySignin(credentials, { socketId: "1.1", auth: sign(noId), userData: noId }), null);
  assert.equal(
    verifySignin(credentials, { socketId: "1.1", auth: sign("not json"), userData: "not json" }),
    null,
  );
});

Deno.test("authorizeSubscription() checks a private channel's signature", () => {
  const { auth } = pusher.authorizeChannel("1.1", "private-a");
  const request = { socketId: "1.1", channel: "private-a", auth, channelData: undefined };
  assert.deepEqual(authorizeSubscription(credentials, request), {
    ok: true,
    member: null,
    userId: null,
    issuedAt: null,
  });
  const forged = authorizeSubscription({ ...credentials, secret: "other" }, request);
  assert.deepEqual(forged.ok ? null : forged.error.type, "AuthError");
  assert.deepEqual(forged.ok ? null : forged.error.status, 401);
  const missing = authorizeSubscription(credentials, { ...request, auth: undefined });
  assert.equal(missing.ok, false);
});

Deno.test("authorizeSubscription() returns the presence member from signed channel_data", () => {
  const signed = pusher.authorizeChannel("1.1", "presence-a", {
    user_id: 7,
    user_info: { name: "Ada" },
  } as unknown as { user_id: string });
  const decision = authorizeSubscription(credentials, {
    socketId: "1.1",
    channel: "presence-a",
    auth: signed.auth,
    channelData: signed.channel_data,
  });
  assert.deepEqual(decision, {
    ok: true,
    member: { userId: "7", userInfo: { name: "Ada" } },
    userId: "7",
    issuedAt: null,
  });
});

Deno.test("authorizeSubscription() requires channel_data on presence channels", () => {
  const { auth } = pusher.authorizeChannel("1.1", "presence-a");
  const decision = authorizeSubscription(credentials, {
    socketId: "1.1",
    channel: "presence-a",
    auth,
    channelData: undefined,
  });
  assert.equal(decision.ok, false);
});

Deno.test("authorizeSubscription() rejects an invalid channel name with status 400", () => {
  const decision = authorizeSubscription(credentials, {
    socketId: "1.1",
    channel: "bad name",
    auth: undefined,
    channelData: undefined,
  });
  assert.deepEqual(decision.ok ? null : decision.error.status, 400);
});

Deno.test("parsePresenceMember() needs a user_id", () => {
  assert.deepEqual(parsePresenceMember('{"user_id":"u1"}'), { userId: "u1", userInfo: null });
  assert.equal(parsePresenceMember('{"user_info":{}}'), null);
  assert.equal(parsePresenceMember('{"user_id":""}'), null);
  assert.equal(parsePresenceMember("nope"), null);
});

Deno.test("connectionEstablishedFrame() encodes its data as a JSON string", () => {
  const frame = JSON.parse(connectionEstablishedFrame("1.2", 120));
  assert.equal(frame.event, "pusher:connection_established");
  assert.equal(typeof frame.data, "string");
  assert.deepEqual(JSON.parse(frame.data), { socket_id: "1.2", activity_timeout: 120 });
});

Deno.test("eventFrame() keeps data a string and adds user_id when given", () => {
  assert.deepEqual(JSON.parse(eventFrame("a", { name: "e", data: '{"x":1}' })), {
    event: "e",
    channel: "a",
    data: '{"x":1}',
  });
  assert.equal(JSON.parse(eventFrame("a", { name: "e", data: "", userId: "u1" })).user_id, "u1");
});

Deno.test("subscriptionSucceededFrame() carries presence ids, hash and count", () => {
  const presence = { ids: ["u1"], hash: { u1: null }, count: 1 };
  const frame = JSON.parse(subscriptionSucceededFrame("presence-a", presence));
  assert.equal(frame.event, "pusher_internal:subscription_succeeded");
  assert.equal(frame.channel, "presence-a");
  assert.deepEqual(JSON.parse(frame.data), { presence });
  assert.equal(JSON.parse(subscriptionSucceededFrame("a", null)).data, "{}");
});

Deno.test("member and error frames have Pusher's shapes", () => {
  const added = JSON.parse(memberAddedFrame("presence-a", { userId: "u1", userInfo: { n: 1 } }));
  assert.deepEqual(JSON.parse(added.data), { user_id: "u1", user_info: { n: 1 } });
  const removed = JSON.parse(memberRemovedFrame("presence-a", "u1"));
  assert.equal(removed.event, "pusher_internal:member_removed");
  assert.deepEqual(JSON.parse(removed.data), { user_id: "u1" });
  assert.deepEqual(JSON.parse(errorFrame({ code: 4001, message: "m" })), {
    event: "pusher:error",
    data: { code: 4001, message: "m" },
  });
  const error = { type: "AuthError" as const, error: "no", status: 401 };
  assert.deepEqual(JSON.parse(subscriptionErrorFrame("private-a", error)), {
    event: "pusher:subscription_error",
    channel: "private-a",
    data: error,
  });
});
