/**
 * web/sync.js against the real app in process (`app.request`): what the client's sync layer asks
 * the API for, and what the store ends up with, when events are missed, arrive twice or before
 * the answer they belong to.
 */
import assert from "node:assert/strict";
import { setup, type TestContext } from "../test/helpers.ts";
import { ApiError, createRequest } from "./api.js";
import { chatApi } from "./chat_api.js";
import { createStore } from "./store.js";
import { createSync } from "./sync.js";

// deno-lint-ignore no-explicit-any
type Any = any;

/** Alice's client: a store, the API as her, and a sync layer whose API calls are recorded. */
async function client(t: TestContext, wrap: (chat: Any) => Any = (chat) => chat) {
  const token = await t.login("alice", "Alice");
  const chat = chatApi(
    createRequest({ token: () => token, fetch: (path: string, init: RequestInit) => t.request(path, init) }),
  );
  const calls: { name: string; args: Any[]; result?: Any }[] = [];
  let inFlight = 0;
  const recorded: Any = {};
  for (const [name, fn] of Object.entries(chat)) {
    recorded[name] = async (...args: Any[]) => {
      const call: { name: string; args: Any[]; result?: Any } = { name, args };
      calls.push(call);
      inFlight++;
      try {
        call.result = await (fn as (...a: Any[]) => Promise<Any>)(...args);
        return call.result;
      } finally {
        inFlight--;
      }
    };
  }
  const store: Any = createStore();
  store.dispatch({
    type: "session/started",
    session: { token, user: { id: "alice", name: "Alice", avatar: null } },
  });
  const sync = createSync({ store, chat: wrap(recorded) });
  /** Resolves once no API call has been in flight for longer than the read delay (bounded). */
  const idle = async () => {
    for (let quiet = 0, rounds = 0; quiet < 8 && rounds < 500; rounds++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      quiet = inFlight === 0 ? quiet + 1 : 0;
    }
    assert.equal(inFlight, 0, "the sync layer settled");
  };
  return { store, sync, calls, idle, chat };
}

async function send(t: TestContext, from: string, body: Record<string, unknown>): Promise<Any> {
  if (typeof body.receiverId === "string") await t.login(body.receiverId); // a receiver must exist
  const res = await t.api(from, "POST", "/api/chat/send", body);
  assert.equal(res.status, 200);
  return (await res.json()).message;
}

const shownSeqs = (store: Any) => store.getState().open.messages.map((m: Any) => m.seq);
const afterSeqCalls = (calls: Any[]) =>
  calls.filter((c) => c.name === "messages" && c.args[0].afterSeq !== undefined);

Deno.test("sync fills a gap after resubscribing exactly once, in order, however many triggers pile up", async () => {
  await using t = await setup();
  const first = await send(t, "bob", { receiverId: "alice", content: "one" });
  const roomId = first.roomId;
  for (const content of ["two", "three"]) await send(t, "bob", { roomId, content });
  const { store, sync, calls, idle } = await client(t);
  await sync.loadRooms();
  await sync.openRoom(roomId);
  await idle();
  assert.deepEqual(shownSeqs(store), [1, 2, 3]);

  // Disconnected: five messages the client never hears of, then one it does hear of, live.
  for (let i = 4; i <= 8; i++) await send(t, "bob", { roomId, content: `missed ${i}` });
  const live = await send(t, "bob", { roomId, content: "live 9" });
  const before = calls.length;
  sync.resync(roomId); // the room channel's subscription succeeded again
  sync.resync(roomId); // … and pusher-js said so twice
  sync.loadRooms(); // the room list shows a newer lastSeq
  sync.onRoomEvent(roomId, "new-message", live); // skips seqs 4-8: fills instead of inserting
  await idle();

  assert.deepEqual(shownSeqs(store), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const fills = afterSeqCalls(calls.slice(before));
  assert.equal(fills[0].args[0].afterSeq, 3, "the fill starts after the newest message shown");
  const fetched = fills.flatMap((c) => c.result.messages.map((m: Any) => m.seq));
  assert.deepEqual(fetched, [4, 5, 6, 7, 8, 9], "each missed message fetched once, oldest first");
  assert.deepEqual(store.getState().open.pending, []);
  sync.stop();
});

Deno.test("sync fetches the gap when a live message skips seqs, instead of showing it out of order", async () => {
  await using t = await setup();
  const first = await send(t, "bob", { receiverId: "alice", content: "one" });
  const { store, sync, idle } = await client(t);
  await sync.openRoom(first.roomId);
  await idle();
  for (let i = 2; i <= 4; i++) await send(t, "bob", { roomId: first.roomId, content: `missed ${i}` });
  const live = await send(t, "bob", { roomId: first.roomId, content: "live 5" });
  sync.onRoomEvent(first.roomId, "new-message", live);
  await idle();
  assert.deepEqual(shownSeqs(store), [1, 2, 3, 4, 5]);
  sync.stop();
});

Deno.test("sync fills a gap longer than one page by paging on from where each page ended", async () => {
  await using t = await setup();
  const first = await send(t, "bob", { receiverId: "alice", content: "m1" });
  const { store, sync, calls, idle } = await client(t);
  await sync.openRoom(first.roomId);
  await idle();
  for (let i = 2; i <= 131; i++) await send(t, "bob", { roomId: first.roomId, content: `m${i}` });
  const before = calls.length;
  sync.resync(first.roomId);
  await idle();
  assert.deepEqual(shownSeqs(store), Array.from({ length: 131 }, (_, i) => i + 1));
  assert.deepEqual(afterSeqCalls(calls.slice(before)).map((c) => c.args[0].afterSeq), [1, 101]);
  sync.stop();
});

Deno.test("sync shows a send once when its message arrives live before the answer, and again on the user channel", async () => {
  await using t = await setup();
  const first = await send(t, "bob", { receiverId: "alice", content: "hi" });
  const roomId = first.roomId;
  let syncRef: Any = null;
  const { store, sync, idle } = await client(t, (chat) => ({
    ...chat,
    // The room channel delivers the new message (and the user channel echoes it) before the HTTP answer.
    send: async (body: Any) => {
      const res = await chat.send(body);
      syncRef.onRoomEvent(roomId, "new-message", res.message);
      syncRef.onUserEvent("new-message", { roomId, message: res.message, unreadCount: 0, totalUnread: 0 });
      return res;
    },
  }));
  syncRef = sync;
  await sync.loadRooms();
  await sync.openRoom(roomId);
  await idle();
  await sync.send({ roomId, content: "hello back", clientMessageId: "c-1" });
  await idle();
  const open = store.getState().open;
  assert.deepEqual(open.pending, []);
  assert.deepEqual(open.messages.map((m: Any) => [m.seq, m.content]), [[1, "hi"], [2, "hello back"]]);
  assert.equal(store.getState().rooms.byId[roomId].lastMessage, "hello back");
  assert.deepEqual(store.getState().announcements.items, [], "the user's own message is not announced");
  sync.stop();
});

Deno.test("sync retries a send whose answer was lost with the same clientMessageId: one message, shown once", async () => {
  await using t = await setup();
  const first = await send(t, "bob", { receiverId: "alice", content: "hi" });
  const roomId = first.roomId;
  let lose = true;
  const { store, sync, idle } = await client(t, (chat) => ({
    ...chat,
    send: async (body: Any) => {
      const res = await chat.send(body); // committed on the server …
      if (lose) {
        lose = false;
        throw new ApiError(0, "Cannot reach the server"); // … but the answer never arrives
      }
      return res;
    },
  }));
  await sync.openRoom(roomId);
  await idle();
  await sync.send({ roomId, content: "are you there?", clientMessageId: "c-2" });
  assert.deepEqual(store.getState().open.pending.map((p: Any) => [p.clientMessageId, p.status]), [[
    "c-2",
    "failed",
  ]]);
  await sync.retry("c-2");
  await idle();
  assert.deepEqual(store.getState().open.pending, []);
  assert.deepEqual(shownSeqs(store), [1, 2]);
  const res = await t.api("alice", "GET", `/api/chat/messages?roomId=${roomId}`);
  assert.deepEqual((await res.json()).messages.map((m: Any) => m.content), ["are you there?", "hi"]);
  sync.stop();
});

Deno.test("sync coalesces room list loads: calls during a load share it and run it once more", async () => {
  await using t = await setup();
  await send(t, "bob", { receiverId: "alice", content: "hi" });
  const { sync, calls, idle } = await client(t);
  await Promise.all([sync.loadRooms(), sync.loadRooms(), sync.loadRooms()]);
  await idle();
  assert.equal(calls.filter((c) => c.name === "rooms").length, 2);
  sync.stop();
});

Deno.test("sync drops the first page of a room the user already left for another", async () => {
  await using t = await setup();
  const withBob = await send(t, "bob", { receiverId: "alice", content: "from bob" });
  const withCarol = await send(t, "carol", { receiverId: "alice", content: "from carol" });
  const { store, sync, idle } = await client(t);
  await sync.loadRooms();
  const slow = sync.openRoom(withBob.roomId);
  const fast = sync.openRoom(withCarol.roomId);
  await Promise.all([slow, fast]);
  await idle();
  const open = store.getState().open;
  assert.equal(open.roomId, withCarol.roomId);
  assert.deepEqual(open.messages.map((m: Any) => m.content), ["from carol"]);
  sync.stop();
});

Deno.test("sync leaves a room it cannot open, saying why", async () => {
  await using t = await setup();
  const other = await send(t, "bob", { receiverId: "carol", content: "private" });
  const token = await t.login("alice", "Alice");
  const store: Any = createStore();
  store.dispatch({
    type: "session/started",
    session: { token, user: { id: "alice", name: "Alice", avatar: null } },
  });
  const notes: string[] = [];
  const lost: string[] = [];
  const sync = createSync({
    store,
    chat: chatApi(
      createRequest({ token: () => token, fetch: (p: string, i: RequestInit) => t.request(p, i) }),
    ),
    notify: (text: string) => notes.push(text),
    onRoomLost: (roomId: string) => lost.push(roomId),
  });
  await sync.openRoom(other.roomId);
  assert.deepEqual(notes, ["Room not found"]);
  assert.deepEqual(lost, [other.roomId]);
  sync.stop();
});
