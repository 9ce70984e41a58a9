import assert from "node:assert/strict";
import { EXIT_DEAD, runCli } from "../outbox/cli.ts";
import { type RecordedEvent, type Recorder, startRecorder } from "./support/onesignal_recorder.ts";
import {
  eventually,
  FAST_RETRY,
  type OutboxServer,
  pusherAt,
  startOutboxServer,
} from "./support/outbox_harness.ts";

/** Sends `n` messages alternating between two rooms; returns their ids by room, in seq order. */
async function sendLoad(
  t: OutboxServer,
  n: number,
): Promise<{ elapsedMs: number; byRoom: Map<string, number[]> }> {
  await t.login("alice");
  await t.login("bob");
  await t.login("carol");
  const started = performance.now();
  const sent = await Promise.all(Array.from({ length: n }, async (_, i) => {
    const receiverId = i % 2 === 0 ? "bob" : "carol";
    const { message } = await t.ok<{ message: { roomId: string; seq: number } }>(
      "alice",
      "POST",
      "/api/chat/send",
      {
        receiverId,
        content: `m${i}`,
      },
    );
    return message;
  }));
  const elapsedMs = performance.now() - started;
  const byRoom = new Map<string, number[]>();
  for (const m of sent) byRoom.set(m.roomId, [...(byRoom.get(m.roomId) ?? []), m.seq]);
  for (const seqs of byRoom.values()) seqs.sort((a, b) => a - b);
  return { elapsedMs, byRoom };
}

/** The seqs of `new-message` events a room channel got, first arrivals only (duplicates are allowed). */
function firstArrivals(events: RecordedEvent[], roomId: string): number[] {
  const seen = new Set<number>();
  for (const e of events) {
    if (e.channel === `private-room-${roomId}` && e.name === "new-message") {
      seen.add((e.data as { seq: number }).seq);
    }
  }
  return [...seen];
}

async function assertAllArrivedInOrder(rec: Recorder, byRoom: Map<string, number[]>): Promise<void> {
  const total = [...byRoom.values()].reduce((n, s) => n + s.length, 0);
  await rec.until(
    () => [...byRoom.keys()].reduce((n, room) => n + firstArrivals(rec.events, room).length, 0) === total,
    "every event once the sink is back",
    15_000,
  );
  for (const [room, seqs] of byRoom) assert.deepEqual(firstArrivals(rec.events, room), seqs, room);
}

async function health(t: OutboxServer) {
  return (await (await fetch(`${t.url}/healthz`)).json()).outbox as {
    pending: number;
    retrying: number;
    dead: number;
  };
}

Deno.test("sends stay fast while the realtime sink answers 500, and every event arrives in order later", async () => {
  await using rec = startRecorder();
  rec.mode = "error";
  await using t = await startOutboxServer(pusherAt(rec.port), {
    outbox: { ...FAST_RETRY, retry: { ...FAST_RETRY!.retry, maxAttempts: 50 } },
  });
  const { elapsedMs, byRoom } = await sendLoad(t, 40);
  assert.ok(elapsedMs < 5000, `40 sends took ${elapsedMs} ms`);
  await eventually(async () => (await health(t)).retrying > 0, "a retrying batch");
  assert.ok(rec.requests.some((r) => r.status === 500));
  rec.mode = "ok";
  await assertAllArrivedInOrder(rec, byRoom);
  await eventually(
    async () => (await health(t)).pending + (await health(t)).retrying === 0,
    "an empty outbox",
  );
});

Deno.test("a hanging sink times out, sends do not wait, and events arrive once it answers", async () => {
  await using rec = startRecorder();
  rec.mode = "hang";
  await using t = await startOutboxServer(pusherAt(rec.port), {
    outbox: { ...FAST_RETRY, timeoutMs: 300, retry: { baseMs: 50, maxMs: 200, maxAttempts: 50 } },
  });
  const { elapsedMs, byRoom } = await sendLoad(t, 20);
  assert.ok(elapsedMs < 5000, `20 sends took ${elapsedMs} ms`);
  await eventually(async () => (await health(t)).retrying > 0, "a timed-out attempt", 5000);
  rec.mode = "ok";
  await assertAllArrivedInOrder(rec, byRoom);
});

Deno.test("a sink that is down for a while gets every event once it is back", async () => {
  await using rec = startRecorder();
  await rec.down();
  await using t = await startOutboxServer(pusherAt(rec.port), {
    outbox: { ...FAST_RETRY, retry: { baseMs: 50, maxMs: 200, maxAttempts: 50 } },
  });
  const { byRoom } = await sendLoad(t, 20);
  await eventually(async () => (await health(t)).retrying > 0, "a refused attempt");
  await new Promise((resolve) => setTimeout(resolve, 300));
  rec.up();
  await assertAllArrivedInOrder(rec, byRoom);
});

Deno.test("after the last retry a batch is dead, and `outbox replay --all` delivers it", async () => {
  await using rec = startRecorder();
  rec.mode = "error";
  await using t = await startOutboxServer(pusherAt(rec.port), {
    outbox: { ...FAST_RETRY, retry: { baseMs: 20, maxMs: 40, maxAttempts: 2 } },
  });
  const { byRoom } = await sendLoad(t, 6);
  await eventually(
    async () => {
      const counts = await health(t); // all dead: nothing left that could still go out before the replay
      return counts.dead > 0 && counts.pending === 0 && counts.retrying === 0;
    },
    "every batch dead",
  );
  const out: string[] = [];
  assert.equal(await runCli(["dead"], t.kv, (line) => out.push(line)), EXIT_DEAD);
  assert.match(out[1]!, /^realtime:room:dm_\S+:\d+\s+realtime\s+dm_\S+\s+\S+\s+2\s+HTTP 500/);
  const metrics = await (await fetch(`${t.url}/metrics`)).text();
  assert.match(metrics, /outbox_batches\{state="dead"\} [1-9]/);
  assert.match(metrics, /outbox_dead_letters_total\{sink="realtime"\} [1-9]/);

  rec.mode = "ok";
  // The operator's CLI is another process on the same KV file.
  const cli = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../outbox/cli.ts", import.meta.url).pathname, "replay", "--all"],
    env: { KV_PATH: t.kvPath, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const printed = new TextDecoder().decode(cli.stdout);
  assert.equal(cli.code, 0, new TextDecoder().decode(cli.stderr));
  assert.match(printed, /^replayed \d+ batch\(es\)/);
  await assertAllArrivedInOrder(rec, byRoom); // replayed batches go out in stream order
  await eventually(
    async () => (await health(t)).dead === 0 && (await health(t)).pending === 0,
    "an empty outbox",
  );
});

Deno.test("outbox CLI answers usage errors with exit code 2 and unknown ids with 1", async () => {
  using kv = await Deno.openKv(":memory:");
  const out: string[] = [];
  assert.equal(await runCli([], kv, (l) => out.push(l)), 2);
  assert.equal(await runCli(["replay"], kv, (l) => out.push(l)), 2);
  assert.equal(await runCli(["replay", "nope"], kv, (l) => out.push(l)), 1);
  assert.equal(await runCli(["replay", "realtime:room:x:1"], kv, (l) => out.push(l)), 1);
  assert.equal(await runCli(["stats"], kv, (l) => out.push(l)), 0);
  assert.equal(await runCli(["purge"], kv, (l) => out.push(l)), 0);
  assert.deepEqual(out.slice(-2), ["total           0         0     0  -", "purged 0 dead batch(es)"]);
});
