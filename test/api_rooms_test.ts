import assert from "node:assert/strict";
import { keys } from "../storage/keys.ts";
import type { UserRecord } from "../storage/records.ts";
import { expectStatus, setup, type TestContext } from "./helpers.ts";

type Participant = { id: string; role: string };
type Room = {
  id: string;
  name: string;
  avatar: string | null;
  unreadCount: number;
  archived: boolean;
  participants: Participant[];
};
type Rooms = { rooms: Room[]; totalUnread: number };

async function rooms(t: TestContext, user: string, query = ""): Promise<Rooms> {
  return await expectStatus<Rooms>(await t.api(user, "GET", `/api/chat/rooms${query}`), 200);
}

async function send(t: TestContext, from: string, roomId: string, content: string) {
  const res = await t.api(from, "POST", "/api/chat/send", { roomId, content });
  return (await expectStatus<{ message: { id: string; seq: number } }>(res, 200)).message;
}

async function createGroup(t: TestContext, owner: string, memberIds: string[]): Promise<string> {
  const res = await t.api(owner, "POST", "/api/chat/groups", { name: "Team", memberIds });
  return (await expectStatus<{ roomId: string }>(res, 200)).roomId;
}

const everyone = ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "henry"];

/**
 * A fresh group: alice owner; bob and gina admins; carol and frank members;
 * dave a member who left; erin and henry outside.
 */
async function team(t: TestContext): Promise<string> {
  const roomId = await createGroup(t, "alice", ["bob", "carol", "dave", "frank", "gina"]);
  for (const admin of ["bob", "gina"]) {
    await expectStatus(
      await t.api("alice", "PATCH", `/api/chat/rooms/${roomId}/members/${admin}`, { role: "admin" }),
      200,
    );
  }
  await expectStatus(await t.api("dave", "DELETE", `/api/chat/rooms/${roomId}/members/dave`), 200);
  return roomId;
}

type Action = { name: string; call: (t: TestContext, caller: string, roomId: string) => Promise<Response> };

const actions: Record<string, Action> = {
  add: {
    name: "add henry",
    call: (t, c, r) => t.api(c, "POST", `/api/chat/rooms/${r}/members`, { userIds: ["henry"] }),
  },
  removeMember: {
    name: "remove frank",
    call: (t, c, r) => t.api(c, "DELETE", `/api/chat/rooms/${r}/members/frank`),
  },
  removeAdmin: {
    name: "remove gina",
    call: (t, c, r) => t.api(c, "DELETE", `/api/chat/rooms/${r}/members/gina`),
  },
  removeOwner: {
    name: "remove alice",
    call: (t, c, r) => t.api(c, "DELETE", `/api/chat/rooms/${r}/members/alice`),
  },
  leave: { name: "leave", call: (t, c, r) => t.api(c, "DELETE", `/api/chat/rooms/${r}/members/${c}`) },
  rename: {
    name: "rename",
    call: (t, c, r) => t.api(c, "PATCH", `/api/chat/rooms/${r}`, { name: `by ${c}` }),
  },
  role: {
    name: "make frank admin",
    call: (t, c, r) => t.api(c, "PATCH", `/api/chat/rooms/${r}/members/frank`, { role: "admin" }),
  },
  archive: {
    name: "archive",
    call: (t, c, r) => t.api(c, "POST", `/api/chat/rooms/${r}/archive`, { archived: true }),
  },
};

// Caller role × action → status. alice owner, bob admin, carol member, dave left, erin non-member
// (never in the room: 404, exactly as for a room that does not exist).
const matrix: [keyof typeof actions, Record<string, number>][] = [
  ["add", { alice: 200, bob: 200, carol: 403, dave: 403, erin: 404 }],
  ["removeMember", { alice: 200, bob: 200, carol: 403, dave: 403, erin: 404 }],
  ["removeAdmin", { alice: 200, bob: 403, carol: 403, dave: 403, erin: 404 }],
  ["removeOwner", { bob: 403, carol: 403, dave: 403, erin: 404 }],
  ["leave", { alice: 200, bob: 200, carol: 200, dave: 403, erin: 404 }],
  ["rename", { alice: 200, bob: 200, carol: 403, dave: 403, erin: 404 }],
  ["role", { alice: 200, bob: 403, carol: 403, dave: 403, erin: 404 }],
  ["archive", { alice: 200, bob: 200, carol: 200, dave: 403, erin: 404 }],
];

Deno.test("group administration follows the role matrix (owner, admin, member, left member, non-member)", async () => {
  await using t = await setup();
  for (const u of everyone) await t.login(u);
  for (const [key, expected] of matrix) {
    for (const [caller, status] of Object.entries(expected)) {
      const roomId = await team(t);
      const res = await actions[key]!.call(t, caller, roomId);
      const body = await res.json();
      assert.equal(res.status, status, `${actions[key]!.name} by ${caller}: ${JSON.stringify(body)}`);
      if (status !== 200) assert.equal(typeof body.error, "string");
    }
  }
});

Deno.test("group administration is 404 for an unknown room and 400 for a direct room (archive works in both)", async () => {
  await using t = await setup();
  for (const u of everyone) await t.login(u);
  const res = await t.api("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "hi" });
  const { message } = await expectStatus<{ message: { roomId: string } }>(res, 200);
  for (const [key, action] of Object.entries(actions)) {
    const unknown = await action.call(t, "alice", "no_such_room");
    assert.equal(unknown.status, 404, `${action.name} in an unknown room`);
    await unknown.body?.cancel();
    const direct = await action.call(t, "alice", message.roomId);
    const expected = key === "archive" ? 200 : 400;
    assert.equal(direct.status, expected, `${action.name} in a direct room: ${await direct.text()}`);
  }
});

Deno.test("POST /api/chat/rooms/:id/members adds existing users only, skips members, caps the size", async () => {
  await using t = await setup();
  for (const u of everyone) await t.login(u);
  const roomId = await team(t);
  const path = `/api/chat/rooms/${roomId}/members`;
  const missing = await t.api("alice", "POST", path, { userIds: ["henry", "ghost"] });
  assert.deepEqual(await expectStatus(missing, 404), { error: "User not found: ghost" });
  const added = await expectStatus<{ added: string[] }>(
    await t.api("bob", "POST", path, { userIds: ["henry", "carol", "dave"] }),
    200,
  );
  assert.deepEqual(added.added.sort(), ["dave", "henry"]);
  await expectStatus(await t.api("alice", "POST", path, { userIds: [] }), 400);
  await expectStatus(await t.api("alice", "POST", path, { userIds: ["bad id!"] }), 400);

  // 7 active now; 194 more would make 201.
  const now = Date.now();
  const many = Array.from({ length: 194 }, (_, i) => `bulk${i}`);
  for (const id of many) {
    const user: UserRecord = { id, name: id, avatar: null, createdAt: now, updatedAt: now };
    await t.kv.set(keys.user(id), user);
  }
  const tooMany = await t.api("alice", "POST", path, { userIds: many });
  assert.match((await expectStatus<{ error: string }>(tooMany, 400)).error, /at most 200/);
  await expectStatus(await t.api("alice", "POST", path, { userIds: many.slice(1) }), 200);
  const list = await rooms(t, "alice");
  assert.equal(list.rooms.find((r) => r.id === roomId)!.participants.length, 200);
});

Deno.test("a member who leaves drops out of lists and unread totals, keeps history up to the leave, and can be re-added", async () => {
  await using t = await setup();
  for (const u of everyone) await t.login(u);
  const roomId = await team(t);
  await send(t, "alice", roomId, "one");
  const two = await send(t, "alice", roomId, "two");
  assert.equal((await rooms(t, "carol")).totalUnread, 2);

  const left = await t.api("carol", "DELETE", `/api/chat/rooms/${roomId}/members/carol`);
  assert.deepEqual(await expectStatus(left, 200), { success: true, roomId, userId: "carol", left: true });
  assert.deepEqual(await rooms(t, "carol"), { success: true, rooms: [], totalUnread: 0 });
  await send(t, "alice", roomId, "after carol left");
  await expectStatus(await t.api("carol", "POST", "/api/chat/send", { roomId, content: "x" }), 403);
  await expectStatus(await t.api("carol", "POST", "/api/chat/read", { roomId }), 403);
  const history = await expectStatus<{ messages: { id: string }[] }>(
    await t.api("carol", "GET", `/api/chat/messages?roomId=${roomId}`),
    200,
  );
  assert.equal(history.messages[0]!.id, two.id, "history ends at the leave");
  assert.ok(!(await rooms(t, "alice")).rooms[0]!.participants.some((p) => p.id === "carol"));

  await expectStatus(
    await t.api("alice", "POST", `/api/chat/rooms/${roomId}/members`, { userIds: ["carol"] }),
    200,
  );
  const back = await rooms(t, "carol");
  assert.equal(back.rooms[0]!.unreadCount, 0);
  assert.equal(back.totalUnread, 0);
  await send(t, "bob", roomId, "welcome back");
  assert.equal((await rooms(t, "carol")).totalUnread, 1);
});

Deno.test("a removed member loses the room; the owner leaving hands ownership to the longest-standing admin", async () => {
  await using t = await setup();
  for (const u of everyone) await t.login(u);
  const roomId = await team(t);
  await send(t, "carol", roomId, "unread for frank");
  assert.equal((await rooms(t, "frank")).totalUnread, 1);
  await expectStatus(await t.api("bob", "DELETE", `/api/chat/rooms/${roomId}/members/frank`), 200);
  assert.deepEqual((await rooms(t, "frank")).totalUnread, 0);
  const found = await expectStatus<{ messages: unknown[] }>(
    await t.api("frank", "GET", "/api/chat/search?q=unread"),
    200,
  );
  assert.deepEqual(found.messages, [], "search covers active rooms only");
  assert.equal(
    (await expectStatus<{ messages: unknown[] }>(
      await t.api("carol", "GET", "/api/chat/search?q=unread"),
      200,
    )).messages.length,
    1,
  );

  const res = await t.api("alice", "DELETE", `/api/chat/rooms/${roomId}/members/alice`);
  const body = await expectStatus<{ ownerId: string }>(res, 200);
  assert.equal(body.ownerId, "bob"); // bob became admin before gina
  const roles = Object.fromEntries((await rooms(t, "bob")).rooms[0]!.participants.map((p) => [p.id, p.role]));
  assert.deepEqual(roles, { bob: "owner", carol: "member", gina: "admin" });
  // The new owner has the owner's rights.
  await expectStatus(await t.api("bob", "DELETE", `/api/chat/rooms/${roomId}/members/gina`), 200);
});

Deno.test("PATCH /api/chat/rooms/:id/members/:userId changes roles; making someone owner hands ownership over", async () => {
  await using t = await setup();
  for (const u of everyone) await t.login(u);
  const roomId = await team(t);
  const path = (u: string) => `/api/chat/rooms/${roomId}/members/${u}`;
  await expectStatus(await t.api("alice", "PATCH", path("frank"), { role: "boss" }), 400);
  await expectStatus(await t.api("alice", "PATCH", path("alice"), { role: "member" }), 400);
  await expectStatus(await t.api("alice", "PATCH", path("henry"), { role: "admin" }), 404);
  const res = await t.api("alice", "PATCH", path("carol"), { role: "owner" });
  assert.deepEqual(await expectStatus(res, 200), {
    success: true,
    roomId,
    roles: { carol: "owner", alice: "admin" },
  });
  await expectStatus(await t.api("alice", "PATCH", path("frank"), { role: "admin" }), 403);
  await expectStatus(await t.api("carol", "PATCH", path("frank"), { role: "admin" }), 200);
  const roles = Object.fromEntries(
    (await rooms(t, "carol")).rooms[0]!.participants.map((p) => [p.id, p.role]),
  );
  assert.deepEqual(roles, { alice: "admin", bob: "admin", carol: "owner", frank: "admin", gina: "admin" });
});

Deno.test("PATCH /api/chat/rooms/:id renames the group and changes or clears its avatar", async () => {
  await using t = await setup();
  for (const u of everyone) await t.login(u);
  const roomId = await team(t);
  const path = `/api/chat/rooms/${roomId}`;
  const res = await t.api("bob", "PATCH", path, { name: "  Renamed  ", avatar: "https://img.test/a.png" });
  const { room } = await expectStatus<{ room: Room }>(res, 200);
  assert.equal(room.name, "Renamed");
  assert.equal(room.avatar, "https://img.test/a.png");
  await expectStatus(await t.api("alice", "PATCH", path, { avatar: null }), 200);
  const listed = (await rooms(t, "carol")).rooms[0]!;
  assert.equal(listed.name, "Renamed");
  assert.equal(listed.avatar, null);
  for (const body of [{}, { name: "" }, { avatar: "javascript:alert(1)" }, { name: "x".repeat(101) }]) {
    await expectStatus(await t.api("alice", "PATCH", path, body), 400);
  }
});

Deno.test("POST /api/chat/rooms/:id/archive is per user; a new message un-archives; unread totals still count", async () => {
  await using t = await setup();
  for (const u of everyone) await t.login(u);
  const roomId = await team(t);
  const other = await createGroup(t, "carol", ["frank"]);
  await send(t, "alice", roomId, "hello");
  const res = await t.api("carol", "POST", `/api/chat/rooms/${roomId}/archive`, { archived: true });
  assert.deepEqual(await expectStatus(res, 200), { success: true, roomId, archived: true });

  const active = await rooms(t, "carol");
  assert.deepEqual(active.rooms.map((r) => r.id), [other]);
  assert.equal(active.totalUnread, 1);
  const archived = await rooms(t, "carol", "?archived=true");
  assert.deepEqual(archived.rooms.map((r) => [r.id, r.archived, r.unreadCount]), [[roomId, true, 1]]);
  assert.deepEqual((await rooms(t, "frank", "?archived=true")).rooms, [], "only carol archived it");

  await send(t, "bob", roomId, "wake up");
  assert.deepEqual((await rooms(t, "carol", "?archived=true")).rooms, []);
  assert.equal((await rooms(t, "carol")).rooms[0]!.id, roomId);

  await expectStatus(
    await t.api("carol", "POST", `/api/chat/rooms/${roomId}/archive`, { archived: "yes" }),
    400,
  );
  await expectStatus(
    await t.api("carol", "POST", `/api/chat/rooms/${roomId}/archive`, { archived: true }),
    200,
  );
  await expectStatus(
    await t.api("carol", "POST", `/api/chat/rooms/${roomId}/archive`, { archived: false }),
    200,
  );
  assert.equal((await rooms(t, "carol")).rooms.length, 2);
});
