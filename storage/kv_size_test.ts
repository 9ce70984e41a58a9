import assert from "node:assert/strict";
import { keyBytes } from "./kv_size.ts";

Deno.test("keyBytes() matches what Deno KV counts against its 80 KiB of keys per atomic", async () => {
  await using kv = await Deno.openKv(":memory:");
  // Fill an atomic to just under the limit by the estimate: KV must accept it, and refuse one byte more.
  const part = "x".repeat(1000);
  const keys: Deno.KvKey[] = Array.from({ length: 80 }, (_, i) => ["m", part, i]);
  const used = keys.reduce((n, key) => n + keyBytes(key), 0);
  const fill = (extra: number) => {
    const op = kv.atomic();
    for (const key of keys) op.set(key, null);
    op.set(["z", "é".repeat(extra)], null);
    return op.commit();
  };
  const room = 80 * 1024 - used - keyBytes(["z", ""]);
  assert.equal((await fill(Math.floor(room / 2))).ok, true);
  await assert.rejects(fill(Math.floor(room / 2) + 1), /Total key size too large/);
  assert.equal(keyBytes(["a\0b", 1, true]), 2 + 4 + 9 + 1);
});
