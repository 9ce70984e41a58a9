/**
 * The embedded gateway of a running server, driven with raw WebSockets and the HTTP API: a
 * removed member's open socket loses the room at once, signatures do not carry over to other
 * connections, client events are off unless enabled and then throttled, oversized frames close
 * the connection, and the connection and subscription caps hold.
 */
import assert from "node:assert/strict";
import { keys } from "../storage/keys.ts";
import { closeEventOf, type Frame, type RawSocket, rawSocket, socketIdOf } from "./support/raw_socket.ts";
import { FAST_RETRY, type OutboxServer, startOutboxServer } from "./support/outbox_harness.ts";

interface Connected extends RawSocket {
  id: string;
}

async function connect(t: OutboxServer): Promise<Connected> {
  const key = (await t.kv.get<string>(keys.setting("pusher_key"))).value!;
  const socket = rawSocket(`ws://127.0.0.1:${t.port}/app/${key}?protocol=7`);
  return Object.assign(socket, { id: await socketIdOf(socket) });
}

/** Signs `channel` for `socketId` through `POST /api/pusher/auth` as `userId`. */
async function authorize(t: OutboxServer, userId: string, socketId: string, channel: string) {
  return await t.ok<{ auth: string; channel_data?: string }>(userId, "POST", "/api/pusher/auth", {
    socket_id: socketId,
    channel_name: channel,
  });
}

/** Subscribes the socket as `userId`, as pusher-js would, and waits for the answer. */
async function join(t: OutboxServer, userId: string, socket: Connected, channel: string): Promise<void> {
  const signed = await authorize(t, userId, socket.id, channel);
  socket.send({ event: "pusher:subscribe", data: { channel, ...signed } });
  await socket.nextMatching(
    (f) => f.channel === channel && f.event === "pusher_internal:subscription_succeeded",
    `${userId} on ${channel}`,
  );
}

async function group(t: OutboxServer, owner: string, memberIds: string[]): Promise<string> {
  for (const id of memberIds) await t.login(id);
  return (await t.ok<{ roomId: string }>(owner, "POST", "/api/chat/groups", { name: "G", memberIds })).roomId;
}

const isMessage = (channel: string, content?: string) => (f: Frame) =>
  f.channel === channel && f.event === "new-message" &&
  (content === undefined || JSON.parse(f.data as string).content === content);

Deno.test("a member removed while connected receives no further new-message of the room, and their client events stop", async () => {
  await using t = await startOutboxServer({ PUSHER_CLIENT_EVENTS: "1" }, { outbox: FAST_RETRY });
  const roomId = await group(t, "alice", ["bob", "carol"]);
  const room = `private-room-${roomId}`;
  const bob = await connect(t);
  const carol = await connect(t);
  await join(t, "bob", bob, room);
  await join(t, "carol", carol, room);
  await join(t, "carol", carol, `presence-room-${roomId}`);
  await join(t, "carol", carol, "private-user-carol");

  carol.send({ event: "client-typing", channel: room, data: { typing: true } });
  await bob.nextMatching((f) => f.event === "client-typing", "carol's client event while a member");
  await t.ok("alice", "POST", "/api/chat/send", { roomId, content: "before" });
  await carol.nextMatching(isMessage(room, "before"), "the message before the removal");

  // The removal and the next message commit back to back: the gateway must drop carol's
  // subscriptions while delivering the removal, before the next event of the room.
  await t.ok("alice", "DELETE", `/api/chat/rooms/${roomId}/members/carol`);
  await t.ok("alice", "POST", "/api/chat/send", { roomId, content: "after" });
  await bob.nextMatching(isMessage(room, "after"), "the message after the removal, for bob");
  const carolGot = await carol.roundTrip();
  assert.deepEqual(
    carolGot.filter((f) => f.channel !== "private-user-carol" && f.event !== "member-removed"),
    [],
  );
  assert.ok(
    carolGot.some((f) => f.channel === "private-user-carol" && f.event === "member-removed"),
    "her own channel tells her she was removed",
  );

  carol.send({ event: "client-typing", channel: room, data: { typing: true } });
  const refused = await carol.nextMatching((f) => f.event === "pusher:error", "the refusal");
  assert.equal((refused.data as { code: number }).code, 4009);
  assert.deepEqual((await bob.roundTrip()).filter((f) => f.event === "client-typing"), []);
  // Subscribing again is refused: she is a former member now.
  const again = await t.api("carol", "POST", "/api/pusher/auth", { socket_id: carol.id, channel_name: room });
  assert.equal(again.status, 403);
  await again.body?.cancel();

  // Added back, she subscribes afresh and hears the room again.
  await t.ok("alice", "POST", `/api/chat/rooms/${roomId}/members`, { userIds: ["carol"] });
  await carol.nextMatching(
    (f) => f.channel === "private-user-carol" && f.event === "member-added",
    "re-added",
  );
  await join(t, "carol", carol, room);
  await t.ok("alice", "POST", "/api/chat/send", { roomId, content: "welcome back" });
  await carol.nextMatching(isMessage(room, "welcome back"), "the message after being added back");
});

Deno.test("a signature a removed member kept from before the removal does not subscribe again", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const roomId = await group(t, "alice", ["bob", "carol"]);
  const room = `private-room-${roomId}`;
  const bob = await connect(t);
  const carol = await connect(t);
  await join(t, "bob", bob, room);
  await join(t, "carol", carol, room);
  await join(t, "carol", carol, "private-user-carol");
  const stashed = await Promise.all([room, `presence-room-${roomId}`].map(async (channel) => ({
    channel,
    ...await authorize(t, "carol", carol.id, channel),
  })));
  await t.ok("alice", "DELETE", `/api/chat/rooms/${roomId}/members/carol`);
  await carol.nextMatching(
    (f) => f.event === "member-removed" && f.channel === "private-user-carol",
    "removal",
  );
  for (const signed of stashed) {
    carol.send({ event: "pusher:subscribe", data: signed });
    const answer = await carol.nextMatching(
      (f) => f.channel === signed.channel,
      `the answer on ${signed.channel}`,
    );
    assert.equal(answer.event, "pusher:subscription_error", signed.channel);
    assert.equal((answer.data as { status: number }).status, 403);
  }
  await t.ok("alice", "POST", "/api/chat/send", { roomId, content: "after" });
  await bob.nextMatching(isMessage(room, "after"), "bob's message");
  assert.deepEqual((await carol.roundTrip()).filter((f) => f.channel === room), []);
});

Deno.test("a signature for a predicted socket id does not admit the next connection", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const roomId = await group(t, "alice", ["carol"]);
  const room = `private-room-${roomId}`;
  const carol = await connect(t);
  const [prefix, counter] = carol.id.split(".");
  const predicted = `${prefix}.${BigInt(counter!) + 1n}`;
  const presigned = await authorize(t, "carol", predicted, room);
  const next = await connect(t);
  assert.notEqual(next.id, predicted);
  next.send({ event: "pusher:subscribe", data: { channel: room, ...presigned } });
  const answer = await next.next();
  assert.equal(answer.event, "pusher:subscription_error");
  assert.equal(t.runtime.gateway!.stats().subscriptions, 0);
});

Deno.test("client events are not relayed unless PUSHER_CLIENT_EVENTS=1", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const roomId = await group(t, "alice", ["bob"]);
  const room = `private-room-${roomId}`;
  const [alice, bob] = [await connect(t), await connect(t)];
  await join(t, "alice", alice, room);
  await join(t, "bob", bob, room);
  alice.send({ event: "client-typing", channel: room, data: {} });
  const refused = await alice.next();
  assert.equal(refused.event, "pusher:error");
  assert.equal((refused.data as { code: number }).code, 4301);
  assert.deepEqual(await bob.roundTrip(), []);
});

Deno.test("client events are throttled to 10 per second per connection with PUSHER_CLIENT_EVENTS=1", async () => {
  await using t = await startOutboxServer({ PUSHER_CLIENT_EVENTS: "1" }, { outbox: FAST_RETRY });
  const roomId = await group(t, "alice", ["bob"]);
  const room = `private-room-${roomId}`;
  const [alice, bob] = [await connect(t), await connect(t)];
  await join(t, "alice", alice, room);
  await join(t, "bob", bob, room);
  for (let i = 0; i < 30; i++) alice.send({ event: "client-n", channel: room, data: { i } });
  const errors = (await alice.roundTrip()).filter((f) => f.event === "pusher:error");
  const relayed = (await bob.roundTrip()).filter((f) => f.event === "client-n").length;
  // One window takes 10; a burst that straddles a second boundary may reach a second window.
  assert.ok(relayed >= 10 && relayed <= 20, `relayed ${relayed} of a burst of 30`);
  assert.ok(errors.length >= 1 && errors.length <= 2);
  assert.match((errors[0]!.data as { message: string }).message, /rate limit/);
});

Deno.test("a 2 MiB frame closes the connection with 1009 and the gateway goes on serving", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const socket = await connect(t);
  socket.send("x".repeat(2 * 1024 * 1024));
  assert.equal((await closeEventOf(socket)).code, 1009);
  const other = await connect(t);
  assert.deepEqual(await other.roundTrip(), []);
});

Deno.test("the gateway's caps hold: connections per address, subscriptions per connection, no public channels", async () => {
  await using t = await startOutboxServer(
    { GATEWAY_MAX_CONNECTIONS_PER_IP: "2", GATEWAY_MAX_SUBSCRIPTIONS: "2" },
    { outbox: FAST_RETRY },
  );
  const roomId = await group(t, "alice", ["bob"]);
  const first = await connect(t);
  await connect(t);
  const key = (await t.kv.get<string>(keys.setting("pusher_key"))).value!;
  const third = rawSocket(`ws://127.0.0.1:${t.port}/app/${key}?protocol=7`);
  assert.deepEqual((await third.next()).data, {
    code: 4100,
    message: "Too many connections from this address",
  });
  assert.equal((await closeEventOf(third)).code, 4100);

  await join(t, "alice", first, "private-user-alice");
  await join(t, "alice", first, `private-room-${roomId}`);
  const signed = await authorize(t, "alice", first.id, `presence-room-${roomId}`);
  first.send({ event: "pusher:subscribe", data: { channel: `presence-room-${roomId}`, ...signed } });
  const refused = await first.next();
  assert.equal(refused.event, "pusher:subscription_error");
  assert.equal((refused.data as { status: number }).status, 429);

  first.send({ event: "pusher:unsubscribe", data: { channel: "private-user-alice" } });
  first.send({ event: "pusher:subscribe", data: { channel: "lobby" } });
  const publicRefused = await first.next();
  assert.equal(publicRefused.event, "pusher:subscription_error");
  assert.equal((publicRefused.data as { status: number }).status, 403);
});

Deno.test("a removed member's open socket gets no typing of the room, even while the outbox has not delivered the removal", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const roomId = await group(t, "alice", ["bob", "carol"]);
  const room = `private-room-${roomId}`;
  const bob = await connect(t);
  const carol = await connect(t);
  await join(t, "bob", bob, room);
  await join(t, "carol", carol, room);
  const typing = async (isTyping: boolean) => {
    const res = await t.api("alice", "POST", "/api/chat/typing", { roomId, isTyping });
    assert.equal(res.status, 202);
    await res.body?.cancel();
  };
  await typing(true);
  await carol.nextMatching((f) => f.channel === room && f.event === "user-typing", "typing while a member");

  // Typing goes out beside the outbox; with the outbox stalled, the removal's revocation must not wait for it.
  await t.runtime.watcher.stop();
  await t.ok("alice", "DELETE", `/api/chat/rooms/${roomId}/members/carol`);
  await typing(false);
  await bob.nextMatching(
    (f) => f.channel === room && f.event === "user-typing" && !JSON.parse(f.data as string).isTyping,
    "typing after the removal, for bob",
  );
  assert.deepEqual((await carol.roundTrip()).filter((f) => f.channel === room), []);
});
