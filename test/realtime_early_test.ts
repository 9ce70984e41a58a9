/**
 * Room events at commit on this process's own sockets, ahead of the outbox:
 * pusher-js clients get a send's `new-message` before the send is answered,
 * even while another process holds the room's outbox stream, and never twice
 * once the outbox delivers the same batch; a commit whose room's earlier batch
 * has not gone out here waits for the outbox, in order.
 */
import assert from "node:assert/strict";
import type { Channel } from "pusher-js/worker/index.js";
import { roomStream } from "../outbox/outbox.ts";
import { outboxCounts } from "../outbox/operations.ts";
import { StreamLeases } from "../outbox/stream_leases.ts";
import { CommitBatcher } from "../storage/commit_batcher.ts";
import { openKv } from "../storage/kv.ts";
import { eventually, FAST_RETRY, type OutboxServer, startOutboxServer } from "./support/outbox_harness.ts";
import { closeAll, connect, drained, PusherClient, record, subscribe } from "./support/pusher_clients.ts";

/**
 * Another process's outbox watcher holding a room's realtime stream (alive, but stuck in its sink
 * call): this server's watcher cannot deliver the room's batches until it lets go.
 */
async function holdRoomStream(
  t: OutboxServer,
  roomId: string,
): Promise<AsyncDisposable & { release(): Promise<void> }> {
  const kv = await openKv(t.kvPath);
  const leases = new StreamLeases(kv, new CommitBatcher(kv), {
    owner: crypto.randomUUID(),
    leaseMs: 60_000,
    now: Date.now,
  });
  await leases.beat();
  const beating = setInterval(() => leases.beat(), 500);
  // The room's earlier batches (its creation) go out first: only what follows is held.
  await eventually(async () => (await outboxCounts(kv)).pending === 0, "the outbox to drain");
  const answer = (await leases.acquire("realtime", [roomStream(roomId)])).get(roomStream(roomId));
  assert.deepEqual(answer, { ok: true }, "the other process took the room's stream");
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await leases.release("realtime", [roomStream(roomId)]);
    clearInterval(beating);
    await leases.retire();
    kv.close();
  };
  return { release, [Symbol.asyncDispose]: release };
}

/** Every event of `names` on `channel`, by name, in arrival order. */
function log(channel: Channel, names: string[]): string[] {
  const seen: string[] = [];
  for (const name of names) {
    channel.bind(name, (data: { seq?: number; userId?: string }) => seen.push(`${name} ${data.seq}`));
  }
  return seen;
}

Deno.test("a send's new-message reaches this process's pusher-js clients before it is answered, while another process holds the room's outbox stream, and once", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const clients: PusherClient[] = [];
  try {
    await t.login("alice", "Alice");
    const bob = await connect(t, "bob", clients);
    const { roomId } = await t.ok<{ roomId: string }>("alice", "POST", "/api/chat/start", {
      receiverId: "bob",
    });
    const room = await subscribe(bob, `private-room-${roomId}`);
    const inbox = await subscribe(bob, "private-user-bob");
    const roomMessages = record<{ seq: number }>(room, "new-message");
    const inboxMessages = record<{ unreadCount: number }>(inbox, "new-message");
    await using held = await holdRoomStream(t, roomId);

    for (const content of ["one", "two", "three"]) {
      await t.ok("alice", "POST", "/api/chat/send", { roomId, content });
      await drained(bob); // the server answers the ping after every frame it sent before
    }
    assert.deepEqual(roomMessages.map((m) => m.seq), [1, 2, 3], "each message on the room channel at commit");
    assert.equal(inboxMessages.length as number, 0, "bob's own channel (unread totals) waits for the outbox");

    await held.release();
    await eventually(() => inboxMessages.length === 3, "the outbox to deliver the three batches");
    await eventually(async () => (await outboxCounts(t.kv)).pending === 0, "the outbox to drain");
    await drained(bob);
    assert.deepEqual(roomMessages.map((m) => m.seq), [1, 2, 3], "the outbox's delivery is not shown again");
    assert.deepEqual(inboxMessages.map((m) => m.unreadCount), [1, 2, 3]);
    assert.equal(t.runtime.metrics.counter('realtime_early_batches_total{outcome="published"}') >= 3, true);
  } finally {
    await closeAll(t, clients);
  }
});

Deno.test("a commit whose room's earlier batch has not gone out here waits for the outbox: a removal, then the messages after it, in order", async () => {
  await using t = await startOutboxServer({}, { outbox: FAST_RETRY });
  const clients: PusherClient[] = [];
  try {
    await t.login("alice", "Alice");
    await t.login("carol", "Carol");
    const bob = await connect(t, "bob", clients);
    const { roomId } = await t.ok<{ roomId: string }>("alice", "POST", "/api/chat/groups", {
      name: "Team",
      memberIds: ["bob", "carol"],
    });
    const room = await subscribe(bob, `private-room-${roomId}`);
    const seen = log(room, ["member-removed", "new-message"]);
    await using held = await holdRoomStream(t, roomId);

    // The removal goes out with its revocation in the outbox's order, never early; nor what follows it.
    await t.ok("alice", "DELETE", `/api/chat/rooms/${roomId}/members/carol`);
    await t.ok("alice", "POST", "/api/chat/send", { roomId: roomId, content: "after" });
    await drained(bob);
    assert.deepEqual(seen, [], "nothing overtakes the held removal");

    await held.release();
    await eventually(() => seen.length === 2, "the removal and the message");
    await eventually(async () => (await outboxCounts(t.kv)).pending === 0, "the outbox to drain");
    // Once the outbox caught up, the room's commits go out early again.
    await t.ok("alice", "POST", "/api/chat/send", { roomId: roomId, content: "again" });
    await drained(bob);
    assert.deepEqual(seen, ["member-removed 0", "new-message 1", "new-message 2"]);
  } finally {
    await closeAll(t, clients);
  }
});
