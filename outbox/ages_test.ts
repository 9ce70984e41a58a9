import assert from "node:assert/strict";
import { CommitBatcher } from "../storage/commit_batcher.ts";
import { keys } from "../storage/keys.ts";
import { outboxBatchWrite, roomStream } from "./outbox.ts";
import { oldestAges, pruneAgeBuckets, recountOutbox } from "./operations.ts";
import { deleteUnit, type Row } from "./round_rows.ts";

const NOW = 1_800_000_000_000;
const event = (seq: number) => ({
  type: "room.archived" as const,
  roomId: "r",
  seq,
  userId: "u",
  archived: true,
});

async function write(kv: Deno.Kv, stream: string, order: number, createdAt: number): Promise<void> {
  const out = outboxBatchWrite("realtime", { stream, order, now: createdAt }, [event(order)]);
  assert.ok((await kv.atomic().mutate(...out.mutations).commit()).ok);
}

async function rows(kv: Deno.Kv, stream: string): Promise<Row[]> {
  return await Array.fromAsync(kv.list({ prefix: keys.outboxPending("realtime", stream) })) as Row[];
}

Deno.test("oldestAges() follows the oldest undelivered batch of each sink as batches are delivered", async () => {
  using kv = await Deno.openKv(":memory:");
  await write(kv, roomStream("a"), 1, NOW - 90_000);
  await write(kv, roomStream("b"), 1, NOW - 30_500);
  await write(kv, roomStream("b"), 2, NOW - 30_200); // the same second as the one before
  assert.deepEqual(await oldestAges(kv, NOW), { realtime: 90_000, push: null, social: null });
  const batcher = new CommitBatcher(kv);
  assert.ok((await batcher.commit(deleteUnit("realtime", await rows(kv, roomStream("a"))))).ok);
  assert.equal((await oldestAges(kv, NOW)).realtime, 31_000, "to the second of the oldest left");
  const [first] = await rows(kv, roomStream("b"));
  assert.ok((await batcher.commit(deleteUnit("realtime", [first!]))).ok);
  assert.equal((await oldestAges(kv, NOW)).realtime, 31_000, "one batch of that second still waits");
  assert.ok((await batcher.commit(deleteUnit("realtime", await rows(kv, roomStream("b"))))).ok);
  assert.equal((await oldestAges(kv, NOW)).realtime, null);
});

Deno.test("pruneAgeBuckets() drops emptied buckets only, and recountOutbox() rebuilds them from the rows", async () => {
  using kv = await Deno.openKv(":memory:");
  await write(kv, roomStream("a"), 1, NOW - 60_000);
  await write(kv, roomStream("b"), 1, NOW - 10_000);
  const batcher = new CommitBatcher(kv);
  assert.ok((await batcher.commit(deleteUnit("realtime", await rows(kv, roomStream("a"))))).ok);
  assert.equal(await pruneAgeBuckets(kv), 1);
  const left = await Array.fromAsync(kv.list<Deno.KvU64>({ prefix: keys.outboxAges("realtime") }));
  assert.deepEqual(left.map((e) => [e.key, e.value.value]), [[
    keys.outboxAge("realtime", NOW / 1000 - 10),
    1n,
  ]]);
  // A store whose buckets are lost (or written before them): recount sets them from the rows.
  await kv.delete(left[0]!.key);
  await kv.set(keys.outboxAge("realtime", 5), new Deno.KvU64(3n)); // a stray bucket
  assert.equal((await oldestAges(kv, NOW)).realtime, NOW - 5000);
  await recountOutbox(kv);
  assert.equal((await oldestAges(kv, NOW)).realtime, 10_000);
});
