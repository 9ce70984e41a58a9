/**
 * HTTP tests of the security review's findings (issue 11) outside the room actor: channel
 * authorization answers never-members like a missing room, presence stays hidden from blocked
 * users, replayed webhooks are refused, and every response carries the hardening headers.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { keys } from "../storage/keys.ts";
import { applyPresence } from "../storage/presence.ts";
import { expectStatus, setup, type TestContext } from "./helpers.ts";

async function group(t: TestContext, owner: string, memberIds: string[]): Promise<string> {
  for (const id of memberIds) await t.login(id);
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api(owner, "POST", "/api/chat/groups", { name: "Security", memberIds }),
    200,
  );
  return roomId;
}

async function channelAuth(t: TestContext, userId: string, channel: string): Promise<Response> {
  return await t.api(userId, "POST", "/api/pusher/auth", { socket_id: "1234.5678", channel_name: channel });
}

Deno.test("POST /api/pusher/auth answers a room the caller was never in exactly like a missing room (404)", async () => {
  await using t = await setup();
  const roomId = await group(t, "alice", ["bob"]);
  await t.login("carol");
  for (const prefix of ["private-room-", "presence-room-"]) {
    const real = await channelAuth(t, "carol", `${prefix}${roomId}`);
    const missing = await channelAuth(t, "carol", `${prefix}no-such-room`);
    assert.equal(real.status, 404, prefix);
    assert.equal(missing.status, 404, prefix);
    assert.deepEqual(await real.json(), { error: "Room not found" });
    assert.deepEqual(await missing.json(), { error: "Room not found" });
  }
  // A direct room's id is derived from its two members: the answer must not tell that they talk.
  await expectStatus(
    await t.api("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "hi" }),
    200,
  );
  const direct = (await expectStatus<{ rooms: { id: string; type: string }[] }>(
    await t.api("alice", "GET", "/api/chat/rooms"),
    200,
  )).rooms.find((r) => r.type === "DIRECT")!;
  const probe = await channelAuth(t, "carol", `private-room-${direct.id}`);
  assert.equal(probe.status, 404);
  assert.deepEqual(await probe.json(), { error: "Room not found" });
});

Deno.test("POST /api/pusher/auth refuses a former member with 403", async () => {
  await using t = await setup();
  const roomId = await group(t, "alice", ["bob", "carol"]);
  await expectStatus(await channelAuth(t, "carol", `private-room-${roomId}`), 200);
  await expectStatus(await t.api("alice", "DELETE", `/api/chat/rooms/${roomId}/members/carol`), 200);
  for (const channel of [`private-room-${roomId}`, `presence-room-${roomId}`]) {
    const res = await channelAuth(t, "carol", channel);
    assert.equal(res.status, 403, channel);
    assert.equal(typeof (await res.json()).error, "string");
  }
  await expectStatus(await t.api("bob", "DELETE", `/api/chat/rooms/${roomId}/members/bob`), 200);
  assert.equal(
    (await channelAuth(t, "bob", `private-room-${roomId}`)).status,
    403,
    "who left is a former member",
  );
});

Deno.test("GET /api/users/:id hides online and lastSeenAt from users the person blocked", async () => {
  await using t = await setup();
  for (const id of ["alice", "bob", "carol"]) await t.login(id);
  await applyPresence(t.kv, { userId: "alice", channel: "private-user-alice", present: true });
  await expectStatus(await t.api("alice", "POST", "/api/users/carol/block"), 200);
  const blocked = await expectStatus<Record<string, unknown>>(
    await t.api("carol", "GET", "/api/users/alice"),
    200,
  );
  assert.equal(blocked.online, false);
  assert.equal(blocked.lastSeenAt, null);
  const other = await expectStatus<Record<string, unknown>>(
    await t.api("bob", "GET", "/api/users/alice"),
    200,
  );
  assert.equal(other.online, true);
  assert.match(String(other.lastSeenAt), /^\d{4}-\d\d-\d\dT/);
  // The blocker still sees the blocked user's presence, and lifting the block shows it again.
  await applyPresence(t.kv, { userId: "carol", channel: "private-user-carol", present: true });
  assert.equal(
    (await expectStatus<{ online: boolean }>(await t.api("alice", "GET", "/api/users/carol"), 200)).online,
    true,
  );
  await expectStatus(await t.api("alice", "DELETE", "/api/users/carol/block"), 200);
  assert.equal(
    (await expectStatus<{ online: boolean }>(await t.api("carol", "GET", "/api/users/alice"), 200)).online,
    true,
  );
});

Deno.test("POST /api/pusher/webhook refuses a signed body whose time_ms is more than 5 minutes off", async () => {
  await using t = await setup();
  const key = (await t.kv.get<string>(keys.setting("pusher_key"))).value!;
  const secret = (await t.kv.get<string>(keys.setting("pusher_secret"))).value!;
  const post = (body: unknown) => {
    const text = JSON.stringify(body);
    return t.request("/api/pusher/webhook", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-Pusher-Key": key,
        "X-Pusher-Signature": createHmac("sha256", secret).update(text).digest("hex"),
      },
      body: text,
    });
  };
  const events = [{ name: "channel_occupied", channel: "private-user-dave" }];
  for (const skew of [-6 * 60_000, 6 * 60_000, -24 * 3600_000]) {
    const res = await post({ time_ms: Date.now() + skew, events });
    assert.equal(res.status, 401, `skew ${skew}`);
    assert.match((await res.json()).error, /time_ms/);
  }
  const missing = await post({ events });
  assert.equal(missing.status, 400);
  await missing.body?.cancel();
  assert.equal((await t.kv.get(keys.presence("dave"))).value, null, "no replayed event was applied");
  await expectStatus(await post({ time_ms: Date.now() - 4 * 60_000, events }), 200);
  assert.notEqual((await t.kv.get(keys.presence("dave"))).value, null);
});

Deno.test("responses carry X-Content-Type-Options: nosniff and Referrer-Policy, errors included", async () => {
  await using t = await setup();
  const responses = [
    await t.api("alice", "GET", "/api/chat/rooms"),
    await t.request("/api/chat/rooms"), // 401
    await t.request("/api/nothing-here"), // 404
    await t.request("/healthz"),
    await t.request("/openapi.json"),
    await t.request("/"),
  ];
  for (const res of responses) {
    await res.body?.cancel();
    assert.equal(res.headers.get("X-Content-Type-Options"), "nosniff", `${res.url} ${res.status}`);
    assert.equal(res.headers.get("Referrer-Policy"), "no-referrer", `${res.url} ${res.status}`);
    assert.equal(res.headers.get("Strict-Transport-Security"), null, "no HSTS over plain http");
  }
});

Deno.test("responses carry Strict-Transport-Security when the request came over TLS", async () => {
  await using t = await setup();
  const direct = await t.runtime.app.request("https://chat.example/healthz");
  const proxied = await t.request("/healthz", { headers: { "X-Forwarded-Proto": "https" } });
  for (const res of [direct, proxied]) {
    await res.body?.cancel();
    assert.match(res.headers.get("Strict-Transport-Security") ?? "", /^max-age=\d{7,}/);
  }
});
