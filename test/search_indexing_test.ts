import assert from "node:assert/strict";
import { readIndexState } from "../search/search_index.ts";
import { expectStatus, setup } from "./helpers.ts";

Deno.test("the background indexer keeps indexing under steady send load", async () => {
  await using t = await setup();
  const rooms: string[] = [];
  for (let i = 0; i < 8; i++) {
    await t.login(`sender${i}`);
    await t.login(`receiver${i}`);
    const { message } = await expectStatus<{ message: { roomId: string } }>(
      await t.api(`sender${i}`, "POST", "/api/chat/send", { receiverId: `receiver${i}`, content: "hello" }),
      200,
    );
    rooms.push(message.roomId);
  }
  await t.runtime.indexer.idle();
  const marks = async () => (await Promise.all(rooms.map((r) => readIndexState(t.kv, r)))).map((s) => s.mark);
  assert.deepEqual(await marks(), rooms.map(() => 1));

  // 64 senders keep the commit batcher busy without a pause; the index must move while they do.
  let running = true;
  let sent = 0;
  const load = Promise.all(Array.from({ length: 64 }, async (_, n) => {
    const i = n % 8;
    for (let k = 0; running && k < 2000; k++) {
      const res = await t.api(`sender${i}`, "POST", "/api/chat/send", {
        roomId: rooms[i],
        content: `steady load ${n} ${k}`,
      });
      await res.body?.cancel();
      sent++;
    }
  }));
  try {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && ((await marks()).some((mark) => mark <= 1) || sent < 200)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const during = await marks();
    assert.ok(running, "checked while the load runs");
    assert.ok(
      during.every((mark) => mark > 1),
      `index marks under load: ${during.join(", ")} after ${sent} sends`,
    );
  } finally {
    running = false;
    await load;
  }
});
