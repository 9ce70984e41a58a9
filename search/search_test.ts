import assert from "node:assert/strict";
import { HttpError } from "../http_error.ts";
import { keys } from "../storage/keys.ts";
import type { Member, RoomState, StoredMessage } from "../storage/records.ts";
import { INLINE_INDEX_BUDGET, searchMessages } from "./search.ts";
import { readIndexState } from "./search_index.ts";
import { SEARCH_LIMIT_PER_MIN } from "./search_limit.ts";

const alice = { id: "alice", name: "Alice", avatar: null };

/** A room of alice and bob with `count` messages "needle n", written directly (nothing indexed yet). */
async function room(kv: Deno.Kv, roomId: string, count: number): Promise<void> {
  const member: Member = { role: "owner", joinedAt: 0, readSeq: count, readAt: null, archived: false };
  await kv.set(
    keys.room(roomId),
    {
      id: roomId,
      type: "GROUP",
      name: "r",
      avatar: null,
      createdAt: 0,
      createdBy: "alice",
      lastSeq: count,
      outboxSeq: 0,
      lastActivityAt: 0,
      lastMessage: null,
      members: new Map([["alice", member], ["bob", member]]),
      deletedUnread: [],
    } satisfies RoomState,
  );
  for (let seq = 1; seq <= count; seq += 100) {
    const op = kv.atomic();
    for (let s = seq; s < seq + 100 && s <= count; s++) {
      const message: StoredMessage = {
        id: `${roomId}:${s}`,
        roomId,
        seq: s,
        senderId: "alice",
        sender: alice,
        content: `needle ${s}`,
        type: "text",
        reactions: new Map(),
        createdAt: 1000 + s,
      };
      op.set(keys.message(roomId, s), message);
    }
    await op.commit();
  }
}

const links = { attachmentUrl: (id: string) => `/files/${id}` };
Deno.test("a search indexes at most INLINE_INDEX_BUDGET messages inline and leaves the rest to the background", async () => {
  using kv = await Deno.openKv(":memory:");
  await room(kv, "big", INLINE_INDEX_BUDGET * 3);
  const scheduled: string[] = [];
  const deps = { kv, links, indexer: { schedule: (roomId: string) => scheduled.push(roomId) } };
  const page = await searchMessages(deps, alice, { q: "needle", roomId: "big", limit: 5 });
  assert.equal((await readIndexState(kv, "big")).mark, INLINE_INDEX_BUDGET);
  assert.deepEqual(scheduled, ["big"], "the background indexer takes the rest");
  assert.deepEqual(page.messages.map((m) => m.seq), [500, 499, 498, 497, 496]);
  // The next search goes on where this one stopped.
  await searchMessages(deps, alice, { q: "needle", roomId: "big", limit: 5 });
  assert.equal((await readIndexState(kv, "big")).mark, INLINE_INDEX_BUDGET * 2);
});

Deno.test(`a user gets ${SEARCH_LIMIT_PER_MIN} searches a minute, then 429 with Retry-After`, async () => {
  using kv = await Deno.openKv(":memory:");
  await room(kv, "small", 3);
  for (let i = 0; i < SEARCH_LIMIT_PER_MIN; i++) {
    await searchMessages({ kv, links }, alice, { q: "needle", roomId: "small", limit: 5 });
  }
  await assert.rejects(
    searchMessages({ kv, links }, alice, { q: "needle", roomId: "small", limit: 5 }),
    (err: unknown) => {
      assert.ok(err instanceof HttpError);
      assert.equal(err.status, 429);
      assert.ok(Number(err.headers?.["Retry-After"]) >= 1);
      return true;
    },
  );
  // Another user is not held back.
  const bob = { id: "bob", name: "Bob", avatar: null };
  assert.equal(
    (await searchMessages({ kv, links }, bob, { q: "needle", roomId: "small", limit: 5 })).messages.length,
    3,
  );
});
