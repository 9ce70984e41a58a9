/**
 * @module The SDK's event listeners against a real server with the unmodified pusher-js: every
 * event of a room's channel and of the caller's own channel, the connection's states, and
 * `onMessage` without realtime (the socket cannot connect: pages every `pollMs`).
 */
import assert from "node:assert/strict";
import { type ChatClient, createChatClient, type Message } from "../client/mod.ts";
import { eventually, FAST_RETRY, pusherAt, startOutboxServer } from "./support/outbox_harness.ts";

const WAIT_MS = 30_000;

/** Collects the events a listener is given, by name. */
function recorder() {
  const events: [string, unknown][] = [];
  const names = () => events.map(([name]) => name);
  const until = (name: string) =>
    eventually(() => names().includes(name), `a ${name} event (${names()})`, WAIT_MS);
  return { events, names, until, handler: (name: string, data: unknown) => void events.push([name, data]) };
}

Deno.test("onRoomEvent and onUserEvent get every event of the room's and the caller's channel", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const bob: ChatClient = createChatClient({ baseUrl: t.url, token: await t.login("bob") });
  try {
    const states: string[] = [];
    bob.onConnectionState((state) => states.push(state));
    const user = recorder();
    const userSubscribed = Promise.withResolvers<void>();
    bob.onUserEvent(user.handler, { onSubscribed: userSubscribed.resolve });
    await userSubscribed.promise;
    assert.ok(states.includes("connected"), `states: ${states}`);

    const { message } = await t.ok<{ message: Message }>("alice", "POST", "/api/chat/send", {
      receiverId: "bob",
      content: "hello",
    });
    await user.until("new-message");
    const room = recorder();
    const roomSubscribed = Promise.withResolvers<void>();
    bob.onRoomEvent(message.roomId, room.handler, { onSubscribed: roomSubscribed.resolve });
    await roomSubscribed.promise;

    const path = `/api/chat/messages/${encodeURIComponent(message.id)}`;
    await t.ok("alice", "PATCH", path, { content: "hello, edited" });
    await t.ok("alice", "POST", `${path}/reactions`, { emoji: "👍" });
    await room.until("message-updated");
    await room.until("reaction-updated");
    const updated = room.events.find(([name]) => name === "message-updated")![1] as { content: string };
    assert.equal(updated.content, "hello, edited");
    assert.ok(!room.names().some((name) => name.startsWith("pusher:")), `${room.names()}`);

    await bob.read(message.roomId);
    await user.until("unread-updated");
  } finally {
    bob.close();
  }
});

Deno.test("onMessage without realtime: every message once, in order, from pages every pollMs", async () => {
  // Realtime points at a Pusher host where nothing listens: pusher-js never connects.
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = dead.addr.port;
  dead.close();
  await using t = await startOutboxServer(pusherAt(deadPort), { outbox: FAST_RETRY });
  const bob = createChatClient({ baseUrl: t.url, token: await t.login("bob"), pollMs: 200 });
  try {
    const send = (content: string) =>
      t.ok<{ message: Message }>("alice", "POST", "/api/chat/send", { receiverId: "bob", content });
    const { roomId } = (await send("m1")).message;
    const got: Message[] = [];
    bob.onMessage(roomId, (m) => got.push(m), { afterSeq: 0, onError: () => {} });
    await eventually(() => got.length === 1, "the history without realtime", WAIT_MS);
    for (const i of [2, 3, 4]) await send(`m${i}`);
    await eventually(() => got.length === 4, `new messages by polling (${got.length}/4)`, WAIT_MS);
    assert.deepEqual(got.map((m) => m.content), ["m1", "m2", "m3", "m4"]);
    assert.deepEqual(got.map((m) => m.seq), [1, 2, 3, 4]);
  } finally {
    bob.close();
  }
});
