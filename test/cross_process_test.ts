/**
 * Two runtimes (A and B) over one KV file, as Deno Deploy's isolates share one
 * store: whatever one of them cached, every answer of the other follows what
 * was committed last.
 */
import assert from "node:assert/strict";
import { expectStatus } from "./helpers.ts";
import { startRuntimes } from "./support/two_runtimes.ts";

type Message = { id: string; seq: number; content: string; replyToId?: string };
type RoomList = { rooms: { id: string; unreadCount: number }[]; totalUnread: number };

Deno.test("a direct room cached by A: B's sends are read, counted and marked read exactly through A", async () => {
  await using group = await startRuntimes(2);
  const [a, b] = group.runtimes as [typeof group.runtimes[0], typeof group.runtimes[0]];
  await a.api("alice", "GET", "/api/me");
  const { roomId } = await expectStatus<{ roomId: string }>(
    await a.api("bob", "POST", "/api/chat/start", { receiverId: "alice" }),
    200,
  );
  for (const n of [1, 2, 3]) {
    await expectStatus(await b.api("alice", "POST", "/api/chat/send", { roomId, content: `m${n}` }), 200);
  }
  const page = await expectStatus<{ messages: Message[] }>(
    await a.api("bob", "GET", `/api/chat/messages?roomId=${roomId}`),
    200,
  );
  assert.deepEqual(page.messages.map((m) => m.content), ["m3", "m2", "m1"]);
  for (const [name, runtime] of [["A", a], ["B", b]] as const) {
    const list = await expectStatus<RoomList>(await runtime.api("bob", "GET", "/api/chat/rooms"), 200);
    assert.equal(list.rooms[0]!.unreadCount, 0, `unread through ${name} after the newest page`);
    assert.equal(list.totalUnread, 0, `totalUnread through ${name} after the newest page`);
  }

  for (const n of [4, 5]) {
    await expectStatus(await b.api("alice", "POST", "/api/chat/send", { roomId, content: `m${n}` }), 200);
  }
  const before = await expectStatus<RoomList>(await b.api("bob", "GET", "/api/chat/rooms"), 200);
  assert.equal(before.rooms[0]!.unreadCount, 2);
  const read = await expectStatus<{ unreadCount: number }>(
    await a.api("bob", "POST", "/api/chat/read", { roomId }),
    200,
  );
  assert.equal(read.unreadCount, 0);
  for (const runtime of [a, b]) {
    const list = await expectStatus<RoomList>(await runtime.api("bob", "GET", "/api/chat/rooms"), 200);
    assert.equal(list.rooms[0]!.unreadCount, 0);
    assert.equal(list.totalUnread, 0);
  }
});

Deno.test("a group cached by A: a member added through B sends and types through A at once", async () => {
  await using group = await startRuntimes(2);
  const [a, b] = group.runtimes as [typeof group.runtimes[0], typeof group.runtimes[0]];
  for (const user of ["bob", "carol"]) await a.api(user, "GET", "/api/me");
  const { roomId } = await expectStatus<{ roomId: string }>(
    await a.api("alice", "POST", "/api/chat/groups", { name: "Team", memberIds: ["bob"] }),
    200,
  );
  await expectStatus(await a.api("alice", "POST", "/api/chat/send", { roomId, content: "hello" }), 200);
  await expectStatus(
    await b.api("alice", "POST", `/api/chat/rooms/${roomId}/members`, { userIds: ["carol"] }),
    200,
  );

  await expectStatus(await a.api("carol", "POST", "/api/chat/typing", { roomId, isTyping: true }), 202);
  const sent = await expectStatus<{ message: Message }>(
    await a.api("carol", "POST", "/api/chat/send", { roomId, content: "hi all" }),
    200,
  );
  assert.equal(sent.message.seq, 2);
});

Deno.test("a message written through B is reacted to, edited and replied to through A", async () => {
  await using group = await startRuntimes(2);
  const [a, b] = group.runtimes as [typeof group.runtimes[0], typeof group.runtimes[0]];
  await a.api("bob", "GET", "/api/me");
  const first = await expectStatus<{ message: Message }>(
    await a.api("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "one" }),
    200,
  );
  const roomId = first.message.id.slice(0, first.message.id.lastIndexOf(":"));
  const written = (await expectStatus<{ message: Message }>(
    await b.api("alice", "POST", "/api/chat/send", { roomId, content: "two" }),
    200,
  )).message;

  await expectStatus(
    await a.api("bob", "POST", `/api/chat/messages/${written.id}/reactions`, { emoji: "👍" }),
    200,
  );
  const edited = await expectStatus<{ message: Message }>(
    await a.api("alice", "PATCH", `/api/chat/messages/${written.id}`, { content: "two, edited" }),
    200,
  );
  assert.equal(edited.message.content, "two, edited");
  const reply = await expectStatus<{ message: Message }>(
    await a.api("bob", "POST", "/api/chat/send", { roomId, content: "re", replyToId: written.id }),
    200,
  );
  assert.equal(reply.message.replyToId, written.id);
  assert.equal(reply.message.seq, 3);
});

Deno.test("a member removed through B is refused through A at once", async () => {
  await using group = await startRuntimes(2);
  const [a, b] = group.runtimes as [typeof group.runtimes[0], typeof group.runtimes[0]];
  for (const user of ["bob", "carol"]) await a.api(user, "GET", "/api/me");
  const { roomId } = await expectStatus<{ roomId: string }>(
    await a.api("alice", "POST", "/api/chat/groups", { name: "Team", memberIds: ["bob", "carol"] }),
    200,
  );
  const carols = (await expectStatus<{ message: Message }>(
    await a.api("carol", "POST", "/api/chat/send", { roomId, content: "mine" }),
    200,
  )).message;
  await expectStatus(await a.api("carol", "POST", "/api/chat/typing", { roomId, isTyping: true }), 202);
  await expectStatus(await b.api("alice", "DELETE", `/api/chat/rooms/${roomId}/members/carol`), 200);

  // Typing and a read that moves nothing write nothing: they are the ones a stale head would let through.
  const refused = [
    await a.api("carol", "POST", "/api/chat/typing", { roomId, isTyping: true }),
    await a.api("carol", "POST", "/api/chat/read", { roomId }),
    await a.api("carol", "POST", "/api/chat/send", { roomId, content: "still here?" }),
    await a.api("carol", "PATCH", `/api/chat/messages/${carols.id}`, { content: "changed" }),
    await a.api("carol", "POST", `/api/chat/messages/${carols.id}/reactions`, { emoji: "👍" }),
    await a.api("carol", "POST", `/api/chat/rooms/${roomId}/archive`, { archived: true }),
  ];
  assert.deepEqual(refused.map((res) => res.status), [403, 403, 403, 403, 403, 403]);
  for (const res of refused) await res.body?.cancel();
});
