/**
 * The operator routes end to end: dead letters with their last error, replayed
 * one by id and purged; push outcomes counted; the live tail of published
 * events filtered by room; the read-only browser without tokens.
 */
import assert from "node:assert/strict";
import { startRecorder } from "./support/onesignal_recorder.ts";
import { eventually, FAST_RETRY, pusherAt, startOutboxServer } from "./support/outbox_harness.ts";
import { expectStatus, setup } from "./helpers.ts";

const ADMIN_KEY = "admin-key-for-route-tests";
const ONESIGNAL = (url: string) => ({
  ONESIGNAL_APP_ID: "os-app",
  ONESIGNAL_REST_API_KEY: "os-rest-key",
  ONESIGNAL_API_URL: url,
  ADMIN_API_KEY: ADMIN_KEY,
});

interface DeadLetter {
  id: string;
  sink: string;
  roomId: string | null;
  attempts: number;
  lastError?: string;
  ageMs: number;
}

async function adminCall<T>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      "X-Admin-Key": ADMIN_KEY,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return await expectStatus<T>(res, 200);
}

Deno.test("admin dead letters: a refused push is listed with its last error, replayed by id, then purged", async () => {
  await using rec = startRecorder();
  let refuse = true;
  rec.mode = (r) =>
    r.path === "/notifications" && refuse ? { status: 400, body: { errors: ["bad app"] } } : null;
  await using t = await startOutboxServer({ ...ONESIGNAL(rec.url), ...pusherAt(rec.port) }, {
    outbox: FAST_RETRY,
  });
  await t.login("bob");
  const { message } = await t.ok<{ message: { roomId: string } }>("alice", "POST", "/api/chat/send", {
    receiverId: "bob",
    content: "hi",
  });
  let dead: DeadLetter[] = [];
  await eventually(async () => {
    dead =
      (await adminCall<{ deadLetters: DeadLetter[] }>(t.url, "GET", "/api/admin/outbox/dead")).deadLetters;
    return dead.length === 1;
  }, "the refused push to go dead");
  assert.equal(dead[0]!.sink, "push");
  assert.equal(dead[0]!.roomId, message.roomId);
  assert.match(dead[0]!.lastError ?? "", /HTTP 400/);
  const backlog = await adminCall<{ outbox: Record<string, { dead: number }> }>(
    t.url,
    "GET",
    "/api/admin/outbox",
  );
  assert.equal(backlog.outbox.push!.dead, 1);

  const unknown = await fetch(`${t.url}/api/admin/outbox/dead/replay`, {
    method: "POST",
    headers: { "X-Admin-Key": ADMIN_KEY, "Content-Type": "application/json" },
    body: JSON.stringify({ id: "push:room:nowhere:1" }),
  });
  await expectStatus(unknown, 404);
  const malformed = await fetch(`${t.url}/api/admin/outbox/dead/replay`, {
    method: "POST",
    headers: { "X-Admin-Key": ADMIN_KEY, "Content-Type": "application/json" },
    body: JSON.stringify({ id: "not a batch" }),
  });
  await expectStatus(malformed, 400);

  refuse = false;
  const replayed = await adminCall<{ replayed: number }>(t.url, "POST", "/api/admin/outbox/dead/replay", {
    id: dead[0]!.id,
  });
  assert.equal(replayed.replayed, 1);
  await rec.until(() => rec.notifications().length === 1, "the replayed push");
  await eventually(async () => {
    const stats = await adminCall<{ push: Record<string, number> }>(t.url, "GET", "/api/admin/stats?days=1");
    return stats.push.delivered === 1 && stats.push.failed === 1 && stats.push.notDelivered === 0;
  }, "push outcomes: one delivered, one failed attempt");

  refuse = true;
  await t.ok("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "again" });
  await eventually(async () => {
    const list = await adminCall<{ deadLetters: DeadLetter[] }>(t.url, "GET", "/api/admin/outbox/dead");
    return list.deadLetters.length === 1;
  }, "the second refused push to go dead");
  const purged = await adminCall<{ purged: number }>(t.url, "DELETE", "/api/admin/outbox/dead");
  assert.equal(purged.purged, 1);
  const after = await adminCall<{ deadLetters: DeadLetter[] }>(t.url, "GET", "/api/admin/outbox/dead");
  assert.deepEqual(after.deadLetters, []);
});

Deno.test("GET /api/admin/events tails what this process published, with room and seq, filterable by room", async () => {
  await using t = await startOutboxServer({ ADMIN_API_KEY: ADMIN_KEY });
  for (const user of ["bob", "carol"]) await t.login(user);
  const first = await t.ok<{ message: { roomId: string } }>("alice", "POST", "/api/chat/send", {
    receiverId: "bob",
    content: "one",
  });
  await t.ok("alice", "POST", "/api/chat/send", { roomId: first.message.roomId, content: "two" });
  await t.ok("alice", "POST", "/api/chat/send", { receiverId: "carol", content: "elsewhere" });
  type Tail = {
    events: { channel: string; event: string; roomId: string | null; seq: number | null }[];
    lastId: number;
  };
  const path = `/api/admin/events?roomId=${encodeURIComponent(first.message.roomId)}`;
  let tail: Tail = { events: [], lastId: 0 };
  await eventually(async () => {
    tail = await adminCall<Tail>(t.url, "GET", path);
    return tail.events.filter((e) => e.event === "new-message" && e.channel.startsWith("private-room-"))
      .length === 2;
  }, "both messages of the first room in the tail");
  assert.ok(tail.events.every((e) => e.roomId === first.message.roomId));
  const created = tail.events.filter((e) =>
    e.event === "new-message" && e.channel.startsWith("private-room-")
  );
  assert.deepEqual(created.map((e) => e.seq), [1, 2]);
  assert.ok(created.every((e) => e.channel === `private-room-${first.message.roomId}`));
  // The members' own channels carry the room's events too: the filter keeps them, with the seq.
  assert.ok(tail.events.some((e) => e.channel === "private-user-bob" && e.seq === 2));
  let all: Tail = { events: [], lastId: 0 };
  await eventually(async () => {
    all = await adminCall<Tail>(t.url, "GET", "/api/admin/events");
    return all.events.some((e) => e.roomId !== first.message.roomId && e.event === "new-message");
  }, "the other room's message in the unfiltered tail");
  const newer = await adminCall<Tail>(t.url, "GET", `/api/admin/events?after=${all.lastId}`);
  assert.deepEqual(newer.events, []);
});

Deno.test("the admin browser shows a room's members, read positions and unread counts, and a message's versions", async () => {
  await using t = await setup({ ADMIN_API_KEY: ADMIN_KEY });
  const admin = { headers: { "X-Admin-Key": ADMIN_KEY } };
  for (const user of ["bob", "carol"]) await t.login(user);
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/groups", { name: "Team", memberIds: ["bob", "carol"] }),
    200,
  );
  const sent = [];
  for (const content of ["one", "two", "three"]) {
    const res = await t.api("alice", "POST", "/api/chat/send", { roomId, content });
    sent.push((await expectStatus<{ message: { id: string } }>(res, 200)).message);
  }
  await expectStatus(
    await t.api("bob", "POST", "/api/chat/read", { roomId, messageIds: [sent[1]!.id] }),
    200,
  );
  await expectStatus(
    await t.api("alice", "PATCH", `/api/chat/messages/${sent[0]!.id}`, { content: "uno" }),
    200,
  );

  const { room } = await expectStatus<{
    room: {
      name: string;
      lastSeq: number;
      members: { userId: string; role: string; readSeq: number; unreadCount: number }[];
    };
  }>(await t.request(`/api/admin/rooms/${roomId}`, admin), 200);
  assert.equal(room.name, "Team");
  assert.equal(room.lastSeq, 3);
  const members = Object.fromEntries(room.members.map((m) => [m.userId, m]));
  assert.equal(members.alice!.role, "owner");
  assert.deepEqual([members.bob!.readSeq, members.bob!.unreadCount], [2, 1]);
  assert.deepEqual([members.carol!.readSeq, members.carol!.unreadCount], [0, 3]);

  const { messages } = await expectStatus<{ messages: { seq: number; content: string }[] }>(
    await t.request(`/api/admin/rooms/${roomId}/messages?limit=2`, admin),
    200,
  );
  assert.deepEqual(messages.map((m) => m.seq), [3, 2]);
  const one = await expectStatus<
    { message: { content: string; editCount: number }; versions: { content: string }[] }
  >(
    await t.request(`/api/admin/messages/${encodeURIComponent(sent[0]!.id)}`, admin),
    200,
  );
  assert.equal(one.message.content, "uno");
  assert.deepEqual(one.versions.map((v) => v.content), ["one"]);

  const userRes = await t.request("/api/admin/users/bob", admin);
  const text = await userRes.clone().text();
  const { user } = await expectStatus<{ user: { unreadTotal: number; rooms: { id: string }[] } }>(
    userRes,
    200,
  );
  assert.equal(user.unreadTotal, 1);
  assert.deepEqual(user.rooms.map((r) => r.id), [roomId]);
  assert.doesNotMatch(text, /token|secret|oneSignal|password/i);
  await expectStatus(await t.request("/api/admin/users/nobody", admin), 404);
  await expectStatus(await t.request("/api/admin/rooms/nowhere", admin), 404);
  await expectStatus(await t.request("/api/admin/messages/nowhere:1", admin), 404);
  await expectStatus(await t.request("/api/admin/rooms/nowhere", {}), 401);
});
