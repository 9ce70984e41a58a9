import assert from "node:assert/strict";
import { counterValue, sumMutation, u64Delta } from "./counters.ts";

Deno.test("u64Delta() and counterValue() round-trip negative sums", async () => {
  using kv = await Deno.openKv(":memory:");
  const key = ["n"];
  await kv.atomic().mutate(sumMutation(key, 3)).commit();
  await kv.atomic().sum(key, u64Delta(-5).value).commit();
  assert.equal(counterValue(await kv.get(key)), -2);
});

Deno.test("counterValue() is 0 for a counter never written", async () => {
  using kv = await Deno.openKv(":memory:");
  assert.equal(counterValue(await kv.get(["none"])), 0);
});
