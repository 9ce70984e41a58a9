/**
 * @module The SDK under the send rate limit: a 429 is waited out for its full `Retry-After`
 * and sent again with the same `clientMessageId`. Alone in its file: the limit's window is a
 * minute, so this test waits about that long.
 */
import assert from "node:assert/strict";
import { createChatClient, type Message } from "../client/mod.ts";
import { FAST_RETRY, startOutboxServer } from "./support/outbox_harness.ts";

Deno.test("send() waits out a 429's Retry-After, then sends the same message again (RATE_LIMIT_SEND_PER_MIN=2)", async () => {
  await using t = await startOutboxServer({ RATE_LIMIT_SEND_PER_MIN: "2" }, { outbox: FAST_RETRY });
  await t.login("bob");
  const attempts: { at: number; status: number; retryAfter: string | null; body: string }[] = [];
  const recording: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (String(input).endsWith("/api/chat/send")) {
      const retryAfter = res.headers.get("Retry-After");
      attempts.push({ at: Date.now(), status: res.status, retryAfter, body: String(init?.body) });
    }
    return res;
  };
  const alice = createChatClient({ baseUrl: t.url, token: await t.login("alice"), fetch: recording });
  try {
    const sends = [1, 2, 3].map((i) => alice.send({ receiverId: "bob", content: `m${i}` }));
    const results = await Promise.all(sends);

    assert.deepEqual(attempts.map((a) => a.status), [200, 200, 429, 200]);
    const [, , refused, retried] = attempts as [unknown, unknown, (typeof attempts)[0], (typeof attempts)[0]];
    const waitMs = Number(refused.retryAfter) * 1000;
    assert.ok(waitMs >= 1000, `Retry-After is ${refused.retryAfter}`);
    assert.ok(
      retried.at - refused.at >= waitMs,
      `sent again after ${retried.at - refused.at} ms < ${waitMs} ms`,
    );
    assert.equal(retried.body, refused.body, "the retry is not the same request");
    const page = await t.ok<{ messages: Message[] }>(
      "bob",
      "GET",
      `/api/chat/messages?roomId=${results[0]!.message.roomId}&afterSeq=0`,
    );
    assert.deepEqual(page.messages.map((m) => m.content), ["m1", "m2", "m3"]);
    assert.equal(results[2]!.message.id, page.messages[2]!.id);
  } finally {
    alice.close();
  }
});
