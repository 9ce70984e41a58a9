import assert from "node:assert/strict";
import { listIdPage } from "./id_page.ts";

Deno.test("listIdPage() pages through ids after the cursor without repeats", async () => {
  using kv = await Deno.openKv(":memory:");
  const ids = ["a", "a.b", "ab", "b", "c"];
  for (const id of ids) await kv.set(["p", "u", id], {});
  await kv.set(["p", "v", "zz"], {}); // another prefix
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await listIdPage(kv, ["p", "u"], { limit: 2, cursor });
    assert.ok(page.userIds.length <= 2);
    seen.push(...page.userIds);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  assert.deepEqual(seen, ids);
});

Deno.test("listIdPage() gives no nextCursor when the page holds the rest exactly", async () => {
  using kv = await Deno.openKv(":memory:");
  for (const id of ["a", "b"]) await kv.set(["p", id], {});
  assert.deepEqual(await listIdPage(kv, ["p"], { limit: 2 }), { userIds: ["a", "b"] });
});
