import assert from "node:assert/strict";
import { keys } from "../storage/keys.ts";
import type { DeadBatch } from "./outbox.ts";
import { purgeDead, replayDead } from "./operations.ts";

async function addDead(kv: Deno.Kv, order: number): Promise<void> {
  const batch: DeadBatch = {
    sink: "realtime",
    stream: "room:r",
    order,
    createdAt: 0,
    events: [],
    attempts: 8,
    deadAt: 1,
  };
  await kv.set(keys.outboxDead("realtime", "room:r", order), batch);
}

Deno.test("replayDead() moves every dead batch back to pending", async () => {
  using kv = await Deno.openKv(":memory:");
  await addDead(kv, 1);
  await addDead(kv, 2);
  assert.equal(await replayDead(kv, { all: true }), 2);
  assert.equal((await kv.get<{ attempts: number }>(keys.outbox("realtime", "room:r", 1))).value?.attempts, 0);
  assert.equal((await kv.get(keys.outboxDead("realtime", "room:r", 2))).value, null);
});

Deno.test("purgeDead() deletes dead batches and reports how many", async () => {
  using kv = await Deno.openKv(":memory:");
  await addDead(kv, 1);
  await addDead(kv, 2);
  assert.equal(await purgeDead(kv), 2);
  assert.equal((await kv.get(keys.outboxDead("realtime", "room:r", 1))).value, null);
});
