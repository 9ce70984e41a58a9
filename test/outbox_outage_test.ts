import assert from "node:assert/strict";
import { outboxStats } from "../outbox/operations.ts";
import { type RecordedEvent, startRecorder } from "./support/onesignal_recorder.ts";
import { eventually, type OutboxServer, pusherAt, startOutboxServer } from "./support/outbox_harness.ts";

const ROOMS = 60;
const PER_ROOM = 50;

/** Retries that never give up during the test, spaced so that the outage costs few attempts. */
const OUTAGE_OUTBOX = {
  retry: { baseMs: 100, maxMs: 500, maxAttempts: 1000 },
  timeoutMs: 1000,
  sweepIntervalMs: 1000,
  wakeDelayMs: 300,
};

/** One sender, `ROOMS` receivers, `PER_ROOM` messages per direct room, sent one after another per room. */
async function sendBacklog(t: OutboxServer): Promise<Map<string, string[]>> {
  await t.login("sender");
  const receivers = Array.from({ length: ROOMS }, (_, i) => `user${i}`);
  for (const id of receivers) await t.login(id);
  const byRoom = new Map<string, string[]>();
  await Promise.all(receivers.map(async (receiverId) => {
    for (let i = 0; i < PER_ROOM; i++) {
      const { message } = await t.ok<{ message: { id: string; roomId: string } }>(
        "sender",
        "POST",
        "/api/chat/send",
        { receiverId, content: `${receiverId} ${i}` },
      );
      byRoom.set(message.roomId, [...(byRoom.get(message.roomId) ?? []), message.id]);
    }
  }));
  return byRoom;
}

/** How many times each message arrived on its room channel. */
function arrivals(events: RecordedEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) {
    if (e.name === "new-message" && e.channel.startsWith("private-room-")) {
      const id = (e.data as { id: string }).id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

Deno.test({
  name: "after an outage a backlog of 3,000 batches over 60 streams drains once, in order, within 30 s",
  async fn() {
    await using rec = startRecorder();
    await rec.down(); // realtime points at a host where nothing listens
    const dir = await Deno.makeTempDir({ prefix: "durable-chat-outage-" });
    const kvPath = `${dir}/chat.kv`;
    try {
      const first = await startOutboxServer(pusherAt(rec.port), { kvPath, outbox: OUTAGE_OUTBOX });
      const byRoom = await sendBacklog(first);
      const batches = [...byRoom.values()].reduce((n, ids) => n + ids.length, 0);
      assert.equal(batches, ROOMS * PER_ROOM);
      await eventually(async () => (await outboxStats(first.kv)).retrying >= ROOMS, "every stream failing");
      await first[Symbol.asyncDispose](); // the server stops during the outage
      // Long enough for every retry time to pass: all 3,000 batches are due when the next server starts.
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_OUTBOX.retry.maxMs * 2));

      rec.up();
      const started = performance.now();
      await using second = await startOutboxServer(pusherAt(rec.port), { kvPath, outbox: OUTAGE_OUTBOX });
      await rec.until(() => arrivals(rec.events).size === batches, "every batch delivered", 30_000);
      await eventually(
        async () => {
          const s = await outboxStats(second.kv);
          return s.pending + s.retrying === 0;
        },
        "an empty outbox",
        30_000 - (performance.now() - started),
      );
      const drainMs = performance.now() - started;

      // A sweep finds nothing left to send again.
      await second.runtime.watcher.sweep();
      await second.runtime.watcher.settled();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_OUTBOX.sweepIntervalMs * 1.5));
      const counts = arrivals(rec.events);
      const deliveries = [...counts.values()].reduce((a, b) => a + b, 0);
      console.log(
        `outage: ${batches} batches drained in ${Math.round(drainMs)} ms, ` +
          `${(deliveries / batches).toFixed(2)} deliveries per batch`,
      );
      const repeated = [...counts].filter(([, n]) => n !== 1);
      assert.deepEqual(repeated.slice(0, 5), [], `${repeated.length} messages delivered more than once`);
      assert.ok(drainMs < 30_000, `drained in ${drainMs} ms`);
      // Per room, in seq order.
      for (const [roomId, ids] of byRoom) {
        const seen = rec.events.filter((e) =>
          e.name === "new-message" && e.channel === `private-room-${roomId}`
        )
          .map((e) => (e.data as { id: string }).id);
        assert.deepEqual(seen, ids, roomId);
      }
      const health = await (await fetch(`${second.url}/healthz`)).json();
      assert.deepEqual(health.outbox, { pending: 0, retrying: 0, dead: 0 });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
