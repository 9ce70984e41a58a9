/**
 * Retries never store anything twice: the same `clientMessageId` or
 * `clientGroupId` returns what the first attempt stored (409 for a different
 * body), and a commit that happened although its answer was lost is not
 * applied again, even without a client id.
 */
import assert from "node:assert/strict";
import { expectStatus, setup } from "./helpers.ts";
import { type Faults, faultyKv, writes } from "./support/faulty_kv.ts";
import { eventually, startOutboxServer } from "./support/outbox_harness.ts";
import { type RuntimeGroup, type RuntimeHandle, startRuntimes } from "./support/two_runtimes.ts";

type Message = { id: string; seq: number; roomId: string; content: string; reactions: { emoji: string }[] };

Deno.test("POST /api/chat/send with a reused clientMessageId: the same body returns the original, another body is 409", async () => {
  await using t = await setup();
  await t.login("bob");
  const body = { receiverId: "bob", content: "hello", clientMessageId: "c-1", metadata: { a: 1, b: [2] } };
  const first = await expectStatus<{ message: Message }>(
    await t.api("alice", "POST", "/api/chat/send", body),
    200,
  );
  // Key order in metadata is not part of the body's meaning.
  const again = await expectStatus<{ message: Message }>(
    await t.api("alice", "POST", "/api/chat/send", { ...body, metadata: { b: [2], a: 1 } }),
    200,
  );
  assert.equal(again.message.id, first.message.id);
  assert.equal(again.message.seq, first.message.seq);
  const conflict = await t.api("alice", "POST", "/api/chat/send", { ...body, content: "something else" });
  assert.equal(conflict.status, 409);
  assert.deepEqual(await conflict.json(), { error: "clientMessageId: already used for a different message" });
  const page = await expectStatus<{ messages: Message[] }>(
    await t.api("alice", "GET", `/api/chat/messages?roomId=${first.message.roomId}&afterSeq=0`),
    200,
  );
  assert.deepEqual(page.messages.map((m) => m.content), ["hello"]);
});

Deno.test("POST /api/chat/send retried after the sender left the group returns the original message", async () => {
  await using t = await setup();
  await t.login("bob");
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/groups", { name: "G", memberIds: ["bob"] }),
    200,
  );
  const body = { roomId, content: "bye all", clientMessageId: "last-words" };
  const first = await expectStatus<{ message: Message }>(
    await t.api("bob", "POST", "/api/chat/send", body),
    200,
  );
  await expectStatus(await t.api("bob", "DELETE", `/api/chat/rooms/${roomId}/members/bob`), 200);
  const retry = await expectStatus<{ message: Message }>(
    await t.api("bob", "POST", "/api/chat/send", body),
    200,
  );
  assert.equal(retry.message.id, first.message.id);
  const fresh = await t.api("bob", "POST", "/api/chat/send", { ...body, clientMessageId: "new" });
  assert.equal(fresh.status, 403);
  await fresh.body?.cancel();
});

Deno.test("POST /api/chat/groups with a clientGroupId: a retry returns the same room, notifies once; another body is 409", async () => {
  await using t = await startOutboxServer(); // with the outbox running, which tells added members
  for (const u of ["alice", "bob", "carol"]) await t.login(u);
  const body = { name: "Trip", memberIds: ["bob", "carol"], clientGroupId: "trip-2026" };
  const first = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/groups", body),
    200,
  );
  const again = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/groups", { ...body, memberIds: ["carol", "bob"] }),
    200,
  );
  assert.equal(again.roomId, first.roomId);
  const rooms = await expectStatus<{ rooms: { id: string }[] }>(
    await t.api("bob", "GET", "/api/chat/rooms"),
    200,
  );
  assert.deepEqual(rooms.rooms.map((r) => r.id), [first.roomId]);
  const added = async () => {
    const res = await t.api("bob", "GET", "/api/notifications");
    const { notifications } = await expectStatus<{ notifications: { type: string }[] }>(res, 200);
    return notifications.filter((n) => n.type === "group.added").length;
  };
  await eventually(async () => await added() > 0, "bob's group.added");
  await t.runtime.watcher.settled();
  assert.equal(await added(), 1);
  const conflict = await t.api("alice", "POST", "/api/chat/groups", { ...body, name: "Another trip" });
  assert.equal(conflict.status, 409);
  assert.deepEqual(await conflict.json(), { error: "clientGroupId: already used for a different group" });
  // Another creator's same clientGroupId is another group.
  const bobs = await expectStatus<{ roomId: string }>(
    await t.api("bob", "POST", "/api/chat/groups", { ...body, memberIds: ["alice"] }),
    200,
  );
  assert.notEqual(bobs.roomId, first.roomId);
});

/**
 * One runtime whose commits misbehave as `faults` says. They are the faults of a remote store (a commit's
 * answer can be lost), so commit receipts are on, as they are on such a store.
 */
async function faultyRuntime(faults: Faults): Promise<RuntimeGroup & RuntimeHandle> {
  const group = await startRuntimes(1, {}, {
    wrapKv: (kv) => faultyKv(kv, faults),
    runtime: { commitReceipts: true },
  });
  return Object.assign(group, group.runtimes[0]!);
}

Deno.test("a send whose commit happened but whose answer was lost is stored once, without a clientMessageId", async () => {
  let lose = 0;
  await using r = await faultyRuntime({
    // The answer is lost once; the store retries the same commit, whose check now fails.
    loseAnswer: (mutations) => writes(mutations, "msg") && lose-- > 0 && "once",
  });
  await r.api("bob", "GET", "/api/me");
  const first = await expectStatus<{ message: Message }>(
    await r.api("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "one" }),
    200,
  );
  lose = 1;
  const second = await expectStatus<{ message: Message }>(
    await r.api("alice", "POST", "/api/chat/send", { roomId: first.message.roomId, content: "two" }),
    200,
  );
  assert.equal(second.message.seq, 2);
  const page = await expectStatus<{ messages: Message[] }>(
    await r.api("bob", "GET", `/api/chat/messages?roomId=${first.message.roomId}&afterSeq=0`),
    200,
  );
  assert.deepEqual(page.messages.map((m) => [m.seq, m.content]), [[1, "one"], [2, "two"]]);
});

Deno.test("a reaction whose commit kept losing its answer is applied once, not toggled back", async () => {
  let lose = 0;
  await using r = await faultyRuntime({
    // Every answer of the commit is lost: the store gives up retrying it, the actor tries again.
    loseAnswer: (mutations) => writes(mutations, "msg") && lose-- > 0 && "always",
  });
  await r.api("bob", "GET", "/api/me");
  const sent = await expectStatus<{ message: Message }>(
    await r.api("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "react to me" }),
    200,
  );
  lose = 1;
  const reacted = await expectStatus<{ added: boolean; message: Message }>(
    await r.api("bob", "POST", `/api/chat/messages/${sent.message.id}/reactions`, { emoji: "🎉" }),
    200,
  );
  assert.equal(reacted.added, true);
  const page = await expectStatus<{ messages: Message[] }>(
    await r.api("bob", "GET", `/api/chat/messages?roomId=${sent.message.roomId}&afterSeq=0`),
    200,
  );
  assert.deepEqual(page.messages[0]!.reactions.map((x) => x.emoji), ["🎉"]);
});
