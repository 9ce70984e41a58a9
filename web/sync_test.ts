/**
 * web/sync.js over the client SDK against a real server (HTTP and the embedded gateway, the
 * unmodified pusher-js): what the store ends up with when messages arrive live and by pages,
 * when a send's answer is lost, and what the sync layer asks the API for.
 */
import assert from "node:assert/strict";
import { createChatClient } from "../client/mod.ts";
import {
  eventually,
  FAST_RETRY,
  type OutboxServer,
  startOutboxServer,
} from "../test/support/outbox_harness.ts";
import { startTcpProxy } from "../test/support/tcp_proxy.ts";
import { createStore } from "./store.js";
import { createSync } from "./sync.js";

// deno-lint-ignore no-explicit-any
type Any = any;

/** Alice's client over `baseUrl`: a store, the SDK as her, and a sync layer; API calls are recorded. */
async function client(t: OutboxServer, options: { baseUrl?: string; notify?: (text: string) => void } = {}) {
  const token = await t.login("alice", "Alice");
  const calls: string[] = [];
  let inFlight = 0;
  const chat = createChatClient({
    baseUrl: options.baseUrl ?? t.url,
    token,
    pollMs: 200,
    retry: { baseDelayMs: 20, maxDelayMs: 200 },
    fetch: async (input, init) => {
      const request = new Request(input, init);
      calls.push(`${request.method} ${new URL(request.url).pathname}`);
      inFlight++;
      try {
        return await fetch(input, init);
      } finally {
        inFlight--;
      }
    },
  });
  const store: Any = createStore();
  store.dispatch({
    type: "session/started",
    session: { token, user: { id: "alice", name: "Alice", avatar: null } },
  });
  const lost: string[] = [];
  const sync = createSync({
    store,
    chat,
    notify: options.notify ?? (() => {}),
    onRoomLost: (roomId: string) => lost.push(roomId),
  });
  /** Resolves once no API call has been in flight for a while (bounded). */
  const idle = async () => {
    for (let quiet = 0, rounds = 0; quiet < 8 && rounds < 500; rounds++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      quiet = inFlight === 0 ? quiet + 1 : 0;
    }
    assert.equal(inFlight, 0, "the sync layer settled");
  };
  return {
    store,
    sync,
    calls,
    idle,
    lost,
    [Symbol.dispose]() {
      sync.stop();
      chat.close();
    },
  };
}

async function send(t: OutboxServer, from: string, body: Record<string, unknown>): Promise<Any> {
  if (typeof body.receiverId === "string") await t.login(body.receiverId); // a receiver must exist
  return (await t.ok<{ message: Any }>(from, "POST", "/api/chat/send", body)).message;
}

const shown = (store: Any) => store.getState().open.messages.map((m: Any) => [m.seq, m.content]);

Deno.test("sync shows every message of the open room once, in order: others' live, its own sends confirmed", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const first = await send(t, "bob", { receiverId: "alice", content: "hi" });
  const roomId = first.roomId;
  using alice = await client(t);
  alice.sync.start();
  await alice.sync.loadRooms();
  await alice.sync.openRoom(roomId);
  for (const content of ["two", "three"]) await send(t, "bob", { roomId, content });
  await alice.sync.send({ roomId, content: "four", clientMessageId: "c-1" });
  await send(t, "bob", { roomId, content: "five" });
  const want = [[1, "hi"], [2, "two"], [3, "three"], [4, "four"], [5, "five"]];
  await eventually(() => shown(alice.store).length >= 5, "five messages shown", 20_000);
  await alice.idle();
  const open = alice.store.getState().open;
  assert.deepEqual(shown(alice.store), want);
  assert.deepEqual(open.pending, []);
  assert.equal(alice.store.getState().rooms.byId[roomId].lastMessage, "five");
});

Deno.test("sync: a send whose answer was lost is retried with its clientMessageId: one message, shown once", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  await using proxy = startTcpProxy(t.port);
  const first = await send(t, "bob", { receiverId: "alice", content: "hi" });
  const roomId = first.roomId;
  using alice = await client(t, { baseUrl: proxy.url });
  await alice.sync.openRoom(roomId);
  await alice.idle();
  const lost = proxy.loseNextAnswer("POST /api/chat/send");
  const sent = alice.sync.send({ roomId, content: "are you there?", clientMessageId: "c-2" });
  await lost; // stored on the server, but the answer never reached the client
  await sent;
  await alice.idle();
  assert.deepEqual(alice.store.getState().open.pending, []);
  assert.deepEqual(shown(alice.store), [[1, "hi"], [2, "are you there?"]]);
  assert.equal(proxy.count("POST /api/chat/send"), 2, "the lost send and its retry");
  const stored = await t.ok<{ messages: Any[] }>("alice", "GET", `/api/chat/messages?roomId=${roomId}`);
  assert.deepEqual(stored.messages.map((m: Any) => m.content), ["are you there?", "hi"]);
});

Deno.test("sync coalesces room list loads: calls during a load share it and run it once more", async () => {
  await using t = await startOutboxServer();
  await send(t, "bob", { receiverId: "alice", content: "hi" });
  using alice = await client(t);
  await Promise.all([alice.sync.loadRooms(), alice.sync.loadRooms(), alice.sync.loadRooms()]);
  await alice.idle();
  assert.equal(alice.calls.filter((c) => c === "GET /api/chat/rooms").length, 2);
});

Deno.test("sync drops the first page of a room the user already left for another", async () => {
  await using t = await startOutboxServer();
  const withBob = await send(t, "bob", { receiverId: "alice", content: "from bob" });
  const withCarol = await send(t, "carol", { receiverId: "alice", content: "from carol" });
  using alice = await client(t);
  await alice.sync.loadRooms();
  const slow = alice.sync.openRoom(withBob.roomId);
  const fast = alice.sync.openRoom(withCarol.roomId);
  await Promise.all([slow, fast]);
  await alice.idle();
  const open = alice.store.getState().open;
  assert.equal(open.roomId, withCarol.roomId);
  assert.deepEqual(open.messages.map((m: Any) => m.content), ["from carol"]);
});

Deno.test("sync leaves a room it cannot open, saying why", async () => {
  await using t = await startOutboxServer();
  const other = await send(t, "bob", { receiverId: "carol", content: "private" });
  const notes: string[] = [];
  using alice = await client(t, { notify: (text) => notes.push(text) });
  await alice.sync.openRoom(other.roomId);
  assert.deepEqual(notes, ["Room not found"]);
  assert.deepEqual(alice.lost, [other.roomId]);
});
