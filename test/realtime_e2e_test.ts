import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import type { PresenceChannel } from "pusher-js/worker/index.js";
import { createGateway } from "../realtime/gateway.ts";
import { gatewayRoutes } from "../realtime/routes.ts";
import { keys } from "../storage/keys.ts";
import type { Presence } from "../storage/records.ts";
import { eventually, FAST_RETRY, type OutboxServer, startOutboxServer } from "./support/outbox_harness.ts";
import {
  closeAll,
  connect,
  drained,
  next,
  PusherClient,
  record,
  refused,
  subscribe,
} from "./support/pusher_clients.ts";

Deno.test("with the embedded gateway, events and typing reach pusher-js in process: nothing is POSTed to the events API", async () => {
  const eventsApi: string[] = [];
  await using t = await startOutboxServer({}, {
    outbox: FAST_RETRY,
    observe: (req) => {
      const path = new URL(req.url).pathname;
      if (path.startsWith("/apps/")) eventsApi.push(`${req.method} ${path}`);
    },
  });
  const clients: PusherClient[] = [];
  try {
    await t.login("alice", "Alice");
    const bob = await connect(t, "bob", clients);
    const { roomId } = await t.ok<{ roomId: string }>("alice", "POST", "/api/chat/start", {
      receiverId: "bob",
    });
    const room = await subscribe(bob, `private-room-${roomId}`);
    const created = next(room, "new-message");
    const { message } = await t.ok<{ message: Record<string, unknown> }>("alice", "POST", "/api/chat/send", {
      roomId,
      content: "😀".repeat(4000), // 16 KB of event data: the stub goes out, as through the events API
    });
    assert.deepEqual(await created, { roomId, seq: 1, messageId: message.id, truncated: true });
    const typing = next(room, "user-typing");
    const accepted = await t.api("alice", "POST", "/api/chat/typing", { roomId, isTyping: true });
    assert.equal(accepted.status, 202);
    await accepted.body?.cancel();
    assert.deepEqual(await typing, { roomId, userId: "alice", userName: "Alice", isTyping: true });
    assert.deepEqual(eventsApi, []);
  } finally {
    for (const client of clients) client.disconnect();
  }
});

Deno.test("pusher-js authenticates through /api/pusher/auth and receives messages, reads, typing and unread counts", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const clients: PusherClient[] = [];
  try {
    await t.login("alice", "Alice");
    const bob = await connect(t, "bob", clients);
    const carol = await connect(t, "carol", clients);
    const { roomId } = await t.ok<{ roomId: string }>("alice", "POST", "/api/chat/start", {
      receiverId: "bob",
    });

    const room = await subscribe(bob, `private-room-${roomId}`);
    const inbox = await subscribe(bob, "private-user-bob");
    assert.equal((await refused(carol, `private-room-${roomId}`)).status, 404);
    assert.equal((await refused(carol, "private-user-bob")).status, 403);

    const roomMessage = next(room, "new-message");
    const userMessage = next(inbox, "new-message");
    const { message } = await t.ok<{ message: Record<string, unknown> }>("alice", "POST", "/api/chat/send", {
      receiverId: "bob",
      content: "Halo Bob",
    });
    assert.deepEqual(await roomMessage, message);
    assert.deepEqual(await userMessage, { message, roomId, unreadCount: 1, totalUnread: 1 });

    const typing = next(room, "user-typing");
    await t.api("alice", "POST", "/api/chat/typing", { roomId, isTyping: true }).then((r) =>
      r.body?.cancel()
    );
    assert.deepEqual(await typing, { roomId, userId: "alice", userName: "Alice", isTyping: true });

    const read = next(room, "message-read");
    const unread = next(inbox, "unread-updated");
    await t.ok("bob", "POST", "/api/chat/read", { roomId });
    const readEvent = await read;
    assert.equal(readEvent.roomId, roomId);
    assert.equal(readEvent.messageId, message.id);
    assert.equal(readEvent.seq, 1);
    assert.equal(readEvent.readBy, "bob");
    assert.match(String(readEvent.readAt), /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(await unread, { roomId, seq: 1, unreadCount: 0, totalUnread: 0 });
  } finally {
    await closeAll(t, clients);
  }
});

Deno.test("presence-room shows members with their profile, and presence webhooks mark users online", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const clients: PusherClient[] = [];
  try {
    const alice = await connect(t, "alice", clients);
    const bob = await connect(t, "bob", clients);
    const { roomId } = await t.ok<{ roomId: string }>("alice", "POST", "/api/chat/start", {
      receiverId: "bob",
    });
    const bobView = await subscribe<PresenceChannel>(bob, `presence-room-${roomId}`);
    assert.deepEqual(bobView.members.me, { id: "bob", info: { name: "Bob", avatar: null } });
    const added = next<{ id: string; info: unknown }>(bobView, "pusher:member_added");
    await subscribe(alice, `presence-room-${roomId}`);
    assert.deepEqual(await added, { id: "alice", info: { name: "Alice", avatar: null } });

    await subscribe(bob, "private-user-bob");
    const presence = async () => (await t.kv.get<Presence>(keys.presence("bob"))).value;
    await eventually(async () => (await presence())?.online === true, "bob online");
    bob.disconnect();
    await eventually(async () => (await presence())?.online === false, "bob offline");
    assert.ok((await presence())!.lastSeenAt! > Date.now() - 60_000);
  } finally {
    await closeAll(t, clients);
  }
});

Deno.test("POST /api/pusher/auth validates its input and signs only allowed channels", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const token = await t.login("bob");
  const form = await fetch(`${t.url}/api/pusher/auth`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ socket_id: "123.456", channel_name: "private-user-bob" }),
  });
  assert.equal(form.status, 200);
  assert.match((await form.json()).auth, /^[0-9a-f]+:[0-9a-f]{64}$/);
  const bad = await t.api("bob", "POST", "/api/pusher/auth", {
    socket_id: "abc",
    channel_name: "private-user-bob",
  });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /^socket_id: /);
  const ok = await t.api("bob", "POST", "/api/pusher/auth", {
    socket_id: "1.2",
    channel_name: "private-user-bob",
  });
  assert.equal(ok.status, 200);
  assert.match((await ok.json()).auth, /^[0-9a-f]+:[0-9a-f]{64}$/);
  for (
    const [channel, status] of [
      ["private-user-alice", 403],
      ["private-room-nope", 404],
      ["presence-room-nope", 404],
      ["public", 403],
      ["private-encrypted-x", 403],
    ] as const
  ) {
    const res = await t.api("bob", "POST", "/api/pusher/auth", { socket_id: "1.2", channel_name: channel });
    assert.equal(res.status, status, channel);
    await res.body?.cancel();
  }
  const anonymous = await fetch(`${t.url}/api/pusher/auth`, { method: "POST", body: "socket_id=1.2" });
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
});

Deno.test("POST /api/pusher/webhook needs a valid signature and updates presence", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const key = (await t.kv.get<string>(keys.setting("pusher_key"))).value!;
  const secret = (await t.kv.get<string>(keys.setting("pusher_secret"))).value!;
  const body = JSON.stringify({
    time_ms: Date.now(),
    events: [{ name: "channel_occupied", channel: "private-user-dave" }],
  });
  const post = (headers: Record<string, string>) =>
    fetch(`${t.url}/api/pusher/webhook`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body,
    });
  const sign = (s: string) => createHmac("sha256", s).update(body).digest("hex");
  for (
    const headers of [
      {} as Record<string, string>,
      { "X-Pusher-Key": key, "X-Pusher-Signature": sign("wrong-secret") },
      { "X-Pusher-Key": "other-key", "X-Pusher-Signature": sign(secret) },
    ]
  ) {
    const res = await post(headers);
    assert.equal(res.status, 401);
    await res.body?.cancel();
  }
  assert.equal((await t.kv.get(keys.presence("dave"))).value, null);
  const res = await post({ "X-Pusher-Key": key, "X-Pusher-Signature": sign(secret) });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.equal((await t.kv.get<Presence>(keys.presence("dave"))).value?.online, true);
});

Deno.test("GET /api/realtime/config points pusher-js at the embedded gateway on the port it reached", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const config = await t.ok<Record<string, unknown>>("bob", "GET", "/api/realtime/config");
  assert.equal(config.wsHost, "127.0.0.1");
  assert.equal(config.wsPort, t.port);
  assert.equal(config.forceTLS, false);
  assert.equal(config.authEndpoint, `http://127.0.0.1:${t.port}/api/pusher/auth`);
  assert.equal(config.key, (await t.kv.get<string>(keys.setting("pusher_key"))).value);
  const res = await fetch(`${t.url}/api/realtime/config`);
  assert.equal(res.status, 401);
  await res.body?.cancel();
});

async function removalScenario(t: OutboxServer, clients: PusherClient[], signin: boolean) {
  const bob = await connect(t, "bob", clients, { signin });
  const carol = await connect(t, "carol", clients, { signin });
  await t.login("alice");
  const { roomId } = await t.ok<{ roomId: string }>("alice", "POST", "/api/chat/groups", {
    name: "Team",
    memberIds: ["bob", "carol"],
  });
  const name = `private-room-${roomId}`;
  const [bobRoom, carolRoom, carolInbox] = await Promise.all([
    subscribe(bob, name),
    subscribe(carol, name),
    subscribe(carol, "private-user-carol"),
  ]);
  const bobGot = record<{ content: string }>(bobRoom, "new-message");
  const carolGot = record<{ content: string }>(carolRoom, "new-message");
  const carolRefused = record<{ status: number }>(carolRoom, "pusher:subscription_error");
  await t.ok("alice", "POST", "/api/chat/send", { roomId, content: "before" });
  await eventually(() => carolGot.length === 1 && bobGot.length === 1, "the message before the removal");

  const socketBefore = carol.connection.socket_id;
  const removed = next(carolInbox, "member-removed");
  await t.ok("alice", "DELETE", `/api/chat/rooms/${roomId}/members/carol`);
  await t.ok("alice", "POST", "/api/chat/send", { roomId, content: "after" });
  assert.deepEqual((await removed).userId, "carol");
  await eventually(() => bobGot.length === 2, "bob's message after the removal");
  assert.equal(bobGot[1]!.content, "after");
  return { carol, carolGot, carolRefused, name, socketBefore };
}

Deno.test("pusher-js of a member removed via the HTTP API while subscribed receives nothing more from the room (embedded gateway)", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const clients: PusherClient[] = [];
  try {
    const { carol, carolGot, name } = await removalScenario(t, clients, false);
    await drained(carol);
    assert.deepEqual(carolGot.map((m) => m.content), ["before"]);
    // Her socket stays up for her other channels; subscribing to the room again is refused.
    assert.equal(carol.connection.state, "connected");
    carol.unsubscribe(name);
    assert.equal((await refused(carol, name)).status, 403);
  } finally {
    await closeAll(t, clients);
  }
});

Deno.test("with Pusher Channels, a removed member's signed-in connection is terminated and the room refused on reconnect", async () => {
  // A Pusher-protocol server that is not ours plays Pusher Channels: the server publishes to it
  // with PUSHER_HOST and ends access through its terminate_connections API.
  const app = { appId: "channels-app", key: "channels-key", secret: "channels-secret-0123456789" };
  const gateway = createGateway({ ...app });
  const channels = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    gatewayRoutes(gateway, app.key, app.appId).fetch,
  ) as Deno.HttpServer<Deno.NetAddr>;
  const clients: PusherClient[] = [];
  try {
    await using t = await startOutboxServer({
      PUSHER_HOST: "127.0.0.1",
      PUSHER_PORT: String(channels.addr.port),
      PUSHER_USE_TLS: "false",
      PUSHER_APP_ID: app.appId,
      PUSHER_KEY: app.key,
      PUSHER_SECRET: app.secret,
    }, { outbox: FAST_RETRY });
    try {
      const { carol, carolGot, carolRefused, socketBefore } = await removalScenario(t, clients, true);
      // Terminated: pusher-js reconnects on a new socket, signs in again and re-authorizes the room.
      await eventually(() => carolRefused.length === 1, "the room refused after reconnecting");
      assert.equal(carolRefused[0]!.status, 403);
      assert.notEqual(carol.connection.socket_id, socketBefore, "the old connection was terminated");
      await drained(carol);
      assert.deepEqual(carolGot.map((m) => m.content), ["before"]);
    } finally {
      for (const client of clients) client.disconnect();
      await eventually(() => gateway.stats().connections === 0, "sockets to close");
    }
  } finally {
    await gateway.close();
    await channels.shutdown();
  }
});
