import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { keys } from "../storage/keys.ts";
import type { RoomState, StoredMessage } from "../storage/records.ts";
import { BackgroundIndexer, MAX_YIELD_MS } from "./background_indexer.ts";
import { readIndexState } from "./search_index.ts";

async function roomWithMessages(kv: Deno.Kv, roomId: string, count: number): Promise<void> {
  await kv.set(keys.room(roomId), { id: roomId, lastSeq: count } as RoomState);
  for (let seq = 1; seq <= count; seq++) {
    const message: StoredMessage = {
      id: `${roomId}:${seq}`,
      roomId,
      seq,
      senderId: "alice",
      sender: { id: "alice", name: "Alice", avatar: null },
      content: `hello ${seq}`,
      type: "text",
      reactions: new Map(),
      createdAt: 1000 + seq,
    };
    await kv.set(keys.message(roomId, seq), message);
  }
}

/** Stands in for the batcher's `drain()`: quiet only once `quiet()` is called. */
function busyStore() {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { drain: () => promise, quiet: resolve };
}

Deno.test("BackgroundIndexer indexes every scheduled room", async () => {
  using kv = await Deno.openKv(":memory:");
  await roomWithMessages(kv, "a", 3);
  await roomWithMessages(kv, "b", 2);
  const indexer = new BackgroundIndexer(kv, { drain: () => Promise.resolve() });
  indexer.schedule("a");
  indexer.schedule("b");
  indexer.schedule("a");
  await indexer.idle();
  assert.equal((await readIndexState(kv, "a")).mark, 3);
  assert.equal((await readIndexState(kv, "b")).mark, 2);
});

Deno.test("BackgroundIndexer indexes the rooms of commits that changed a message's text, not of others", async () => {
  using kv = await Deno.openKv(":memory:");
  await roomWithMessages(kv, "a", 2);
  await roomWithMessages(kv, "b", 2);
  const indexer = new BackgroundIndexer(kv, { drain: () => Promise.resolve() });
  const message = (await kv.get<StoredMessage>(keys.message("a", 2))).value!;
  indexer.committed({ roomId: "a", events: [{ type: "message.created", message, unread: {} }] });
  indexer.committed({
    roomId: "b",
    events: [{
      type: "message.read",
      roomId: "b",
      seq: 2,
      messageId: "b:2",
      readBy: "bob",
      readAt: 5,
      unreadCount: 0,
    }],
  });
  await indexer.idle();
  assert.equal((await readIndexState(kv, "a")).mark, 2);
  assert.equal((await readIndexState(kv, "b")).mark, 0, "a read changes no text");
  assert.equal(indexer.indexedRooms, 1);
});

Deno.test("BackgroundIndexer waits while request commits are pending", async () => {
  using kv = await Deno.openKv(":memory:");
  await roomWithMessages(kv, "a", 2);
  const store = busyStore();
  const indexer = new BackgroundIndexer(kv, store);
  indexer.schedule("a");
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal((await readIndexState(kv, "a")).mark, 0);
  store.quiet();
  await indexer.idle();
  assert.equal((await readIndexState(kv, "a")).mark, 2);
});

Deno.test("BackgroundIndexer.stop() leaves rooms not yet indexed to the search's catch-up", async () => {
  using kv = await Deno.openKv(":memory:");
  await roomWithMessages(kv, "a", 2);
  const store = busyStore();
  const indexer = new BackgroundIndexer(kv, store);
  indexer.schedule("a");
  const stopping = indexer.stop();
  store.quiet();
  await stopping;
  indexer.schedule("a");
  await indexer.idle();
  assert.equal((await readIndexState(kv, "a")).mark, 0);
});

Deno.test("BackgroundIndexer indexes after MAX_YIELD_MS even when the store is never quiet", async () => {
  const realSetTimeout = globalThis.setTimeout;
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout"] });
  try {
    using kv = await Deno.openKv(":memory:");
    await roomWithMessages(kv, "a", 2);
    const indexer = new BackgroundIndexer(kv, busyStore()); // requests never stop committing
    indexer.schedule("a");
    await clock.tickAsync(MAX_YIELD_MS - 1);
    assert.equal((await readIndexState(kv, "a")).mark, 0, "it yields to requests for a while");
    await clock.tickAsync(1);
    for (let i = 0; i < 500 && (await readIndexState(kv, "a")).mark < 2; i++) {
      await new Promise((resolve) => realSetTimeout(resolve, 2));
    }
    assert.equal((await readIndexState(kv, "a")).mark, 2);
    await indexer.idle();
  } finally {
    clock.uninstall();
  }
});
