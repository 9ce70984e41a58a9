import assert from "node:assert/strict";
import { type RecordedEvent, startRecorder } from "./support/onesignal_recorder.ts";
import { type OutboxServer, pusherAt, startOutboxServer } from "./support/outbox_harness.ts";

/** A lease much shorter than a round against the slow sink: only renewal keeps it. */
const TWO_WATCHERS = {
  leaseMs: 300,
  sweepIntervalMs: 200,
  wakeDelayMs: 200,
  timeoutMs: 5000,
  retry: { baseMs: 50, maxMs: 200, maxAttempts: 100 },
};

/** The seqs of `new-message` on the room channels, in arrival order. */
function roomSeqs(events: RecordedEvent[]): number[] {
  return events.filter((e) => e.name === "new-message" && e.channel.startsWith("private-room-"))
    .map((e) => (e.data as { seq: number }).seq);
}

function assertInOrder(seqs: number[], total: number): void {
  const backwards = seqs.flatMap((seq, i) => (i > 0 && seq <= seqs[i - 1]! ? [[seqs[i - 1], seq]] : []));
  assert.deepEqual(backwards.slice(0, 5), [], `${backwards.length} steps backwards or repeated`);
  assert.deepEqual(seqs, Array.from({ length: total }, (_, i) => i + 1));
}

Deno.test("two watchers on one KV file drain one stream against a slow sink: per-room order never goes backwards", async () => {
  await using rec = startRecorder();
  rec.delayMs = 60; // each Pusher call takes 60 ms: a round of 50 batches takes about 600 ms
  const dir = await Deno.makeTempDir({ prefix: "durable-chat-order-" });
  const kvPath = `${dir}/chat.kv`;
  const servers: OutboxServer[] = [];
  try {
    servers.push(await startOutboxServer(pusherAt(rec.port), { kvPath, outbox: TWO_WATCHERS }));
    servers.push(await startOutboxServer(pusherAt(rec.port), { kvPath, outbox: TWO_WATCHERS }));
    const [first, second] = servers as [OutboxServer, OutboxServer];
    for (const t of servers) {
      await t.login("alice");
      await t.login("bob");
    }
    const send = (t: OutboxServer, i: number) =>
      t.ok("alice", "POST", "/api/chat/send", { receiverId: "bob", content: `m${i}` });
    // Both processes write the room, so both watchers are woken for its stream.
    for (let i = 0; i < 150; i++) await send(servers[i % 2]!, i);
    await rec.until(() => new Set(roomSeqs(rec.events)).size === 150, "the first 150 messages", 60_000);
    // A backlog in the first process, which stops mid-drain: the second takes the stream over.
    for (let i = 150; i < 250; i++) await send(first, i);
    await rec.until(() => new Set(roomSeqs(rec.events)).size > 170, "the backlog to start going out", 20_000);
    await first[Symbol.asyncDispose]();
    servers.shift();
    await rec.until(() => new Set(roomSeqs(rec.events)).size === 250, "every message", 60_000);
    await second.runtime.watcher.settled();

    const seqs = roomSeqs(rec.events);
    assertInOrder(seqs, 250);
    // The receiver's own channel gets the same order.
    const userSeqs = rec.events.filter((e) => e.name === "new-message" && e.channel === "private-user-bob")
      .map((e) => (e.data as { message: { seq: number } }).message.seq);
    assert.deepEqual(userSeqs, seqs);
    const byFirst = first.runtime.metrics.counter('outbox_deliveries_total{sink="realtime"}');
    const bySecond = second.runtime.metrics.counter('outbox_deliveries_total{sink="realtime"}');
    console.log(`two watchers: batches delivered by the first process ${byFirst}, by the second ${bySecond}`);
    assert.ok(bySecond > 0, "the second process took the stream over");
  } finally {
    for (const t of servers) await t[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
  }
});
