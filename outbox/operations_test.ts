import assert from "node:assert/strict";
import { keys } from "../storage/keys.ts";
import type { DeadBatch } from "./outbox.ts";
import { purgeDead, replayDead } from "./operations.ts";

/**
 * The real store, except that the next `failures` commits throw what SQLite
 * reports while another process (the running server) holds the write lock.
 */
function lockedFor(kv: Deno.Kv, failures: number): Deno.Kv {
  return new Proxy(kv, {
    get(target, name) {
      if (name !== "atomic") {
        const value = Reflect.get(target, name);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return () => {
        const op = target.atomic();
        const commit = op.commit.bind(op);
        op.commit = () => failures-- > 0 ? Promise.reject(new TypeError("database is locked")) : commit();
        return op;
      };
    },
  });
}

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

Deno.test("replayDead() retries when the server holds the KV file's write lock", async () => {
  using kv = await Deno.openKv(":memory:");
  await addDead(kv, 1);
  await addDead(kv, 2);
  assert.equal(await replayDead(lockedFor(kv, 2), { all: true }), 2);
  assert.equal((await kv.get(keys.outbox("realtime", "room:r", 1))).value !== null, true);
  assert.equal((await kv.get(keys.outboxDead("realtime", "room:r", 2))).value, null);
});

Deno.test("purgeDead() retries when the server holds the KV file's write lock", async () => {
  using kv = await Deno.openKv(":memory:");
  await addDead(kv, 1);
  assert.equal(await purgeDead(lockedFor(kv, 1)), 1);
  assert.equal((await kv.get(keys.outboxDead("realtime", "room:r", 1))).value, null);
});
