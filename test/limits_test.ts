/**
 * Limits that keep every request a clear 4xx: Deno KV's per-commit limits
 * reached by large groups of long ids, the write rate limit, and blocks that
 * keep a blocked user from putting the blocker into groups, even racing.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../config.ts";
import { createRuntime } from "../runtime.ts";
import { retryingCommits } from "../storage/kv.ts";
import { authorized, expectStatus, setup, testEnv } from "./helpers.ts";
import { faultyKv, writes } from "./support/faulty_kv.ts";

/** A valid user id of exactly 128 characters. */
function longId(i: number): string {
  return `user-${i}-`.padEnd(128, "x");
}

Deno.test("a group whose members' ids would pass KV's 80 KiB of keys per commit is 400; within it, sends never fail", async () => {
  await using t = await setup();
  const ids = Array.from({ length: 199 }, (_, i) => longId(i));
  for (const [i, id] of ids.entries()) await t.login(id, `User ${i}`);
  const tooMany = await t.api("alice", "POST", "/api/chat/groups", { name: "Long ids", memberIds: ids });
  assert.equal(tooMany.status, 400);
  assert.match((await tooMany.json()).error, /^memberIds: these members' ids are too long together/);

  const members = ids.slice(0, 130);
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/groups", { name: "Long ids", memberIds: members }),
    200,
  );
  const more = await t.api("alice", "POST", `/api/chat/rooms/${roomId}/members`, { userIds: ids.slice(130) });
  assert.equal(more.status, 400);
  assert.match((await more.json()).error, /^userIds: these members' ids are too long together/);

  // Concurrent sends fold into batches; a batch whose keys would not fit is split, never refused.
  const sent = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
    const res = await t.api(members[i]!, "POST", "/api/chat/send", {
      roomId,
      content: `hello ${i}`,
      clientMessageId: `c${i}`.padEnd(64, "-"),
    });
    return (await expectStatus<{ message: { seq: number } }>(res, 200)).message.seq;
  }));
  assert.deepEqual(sent.sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1));
  const list = await expectStatus<{ totalUnread: number }>(
    await t.api(members[129]!, "GET", "/api/chat/rooms"),
    200,
  );
  assert.equal(list.totalUnread, 40);
});

Deno.test("edits, reactions, deletes, /start and group changes share RATE_LIMIT_WRITE_PER_MIN; over it is 429 with Retry-After", async () => {
  await using t = await setup({ RATE_LIMIT_WRITE_PER_MIN: "20" });
  await t.login("bob");
  const sent = await expectStatus<{ message: { id: string; roomId: string } }>(
    await t.api("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "v0" }),
    200,
  );
  const statuses: number[] = [];
  for (let i = 1; i <= 15; i++) {
    const res = await t.api("alice", "PATCH", `/api/chat/messages/${sent.message.id}`, { content: `v${i}` });
    statuses.push(res.status);
    await res.body?.cancel();
  }
  for (const emoji of ["👍", "🎉", "😀"]) {
    const res = await t.api("alice", "POST", `/api/chat/messages/${sent.message.id}/reactions`, { emoji });
    statuses.push(res.status);
    await res.body?.cancel();
  }
  const start = await t.api("alice", "POST", "/api/chat/start", { receiverId: "bob" });
  statuses.push(start.status);
  await start.body?.cancel();
  const group = await t.api("alice", "POST", "/api/chat/groups", { name: "G", memberIds: ["bob"] });
  statuses.push(group.status);
  await group.body?.cancel();
  assert.deepEqual(statuses, Array(20).fill(200));

  const over = await t.api("alice", "PATCH", `/api/chat/messages/${sent.message.id}`, {
    content: "one more",
  });
  assert.equal(over.status, 429);
  assert.deepEqual(await over.json(), { error: "Too many changes, slow down" });
  assert.ok(Number(over.headers.get("Retry-After")) >= 1);
  const deleted = await t.api("alice", "DELETE", `/api/chat/messages/${sent.message.id}`);
  assert.equal(deleted.status, 429);
  await deleted.body?.cancel();
  // Sends have their own limit, and other users their own budget.
  await expectStatus(
    await t.api("alice", "POST", "/api/chat/send", { roomId: sent.message.roomId, content: "ok" }),
    200,
  );
  await expectStatus(
    await t.api("bob", "POST", `/api/chat/messages/${sent.message.id}/reactions`, { emoji: "👍" }),
    200,
  );
});

Deno.test("a message takes at most 100 edits; the 101st is 400", async () => {
  await using t = await setup();
  await t.login("bob");
  const sent = await expectStatus<{ message: { id: string } }>(
    await t.api("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "v0" }),
    200,
  );
  for (let i = 1; i <= 100; i++) {
    await expectStatus(
      await t.api("alice", "PATCH", `/api/chat/messages/${sent.message.id}`, { content: `v${i}` }),
      200,
    );
  }
  const over = await t.api("alice", "PATCH", `/api/chat/messages/${sent.message.id}`, { content: "v101" });
  assert.equal(over.status, 400);
  assert.deepEqual(await over.json(), { error: "content: a message can be edited at most 100 times" });
});

Deno.test("a user who blocked the caller cannot be put into a group by them, at creation or later (403)", async () => {
  await using t = await setup();
  for (const u of ["alice", "bob", "carol"]) await t.login(u);
  await expectStatus(await t.api("bob", "POST", "/api/users/alice/block"), 200);
  const create = await t.api("alice", "POST", "/api/chat/groups", { name: "G", memberIds: ["carol", "bob"] });
  assert.equal(create.status, 403);
  assert.deepEqual(await create.json(), { error: "You cannot add bob to a group" });
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/groups", { name: "G", memberIds: ["carol"] }),
    200,
  );
  const add = await t.api("alice", "POST", `/api/chat/rooms/${roomId}/members`, { userIds: ["bob"] });
  assert.equal(add.status, 403);
  await add.body?.cancel();
  const bobs = await expectStatus<{ rooms: unknown[] }>(await t.api("bob", "GET", "/api/chat/rooms"), 200);
  assert.equal(bobs.rooms.length, 0);
  // After an unblock the add goes through.
  await expectStatus(await t.api("bob", "DELETE", "/api/users/alice/block"), 200);
  await expectStatus(
    await t.api("alice", "POST", `/api/chat/rooms/${roomId}/members`, { userIds: ["bob"] }),
    200,
  );
});

Deno.test("a block committed by another process just before a group add commits makes the add 403", async () => {
  await using t = await setup();
  for (const u of ["bob", "carol"]) await t.login(u);
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/groups", { name: "G", memberIds: ["carol"] }),
    200,
  );
  // A second runtime on the same file, whose commits let bob's block land between the add's read and its commit.
  let armed = true;
  const kv = retryingCommits(faultyKv(await Deno.openKv(t.kvPath), {
    before: async (mutations) => {
      if (armed && writes(mutations, "user_rooms", "bob")) {
        armed = false;
        await expectStatus(await t.api("bob", "POST", "/api/users/alice/block"), 200);
      }
    },
  }));
  const racing = await createRuntime(loadConfig(testEnv(t.kvPath)), kv);
  try {
    const token = await t.login("alice");
    const add = await racing.app.request(
      `http://localhost/api/chat/rooms/${roomId}/members`,
      authorized(token, "POST", { userIds: ["bob"] }),
    );
    assert.equal(armed, false, "the block ran inside the add's commit window");
    assert.equal(add.status, 403);
    await add.body?.cancel();
    const bobs = await expectStatus<{ rooms: unknown[] }>(await t.api("bob", "GET", "/api/chat/rooms"), 200);
    assert.equal(bobs.rooms.length, 0);
  } finally {
    await racing.close();
    kv.close();
  }
});
