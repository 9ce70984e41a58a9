import assert from "node:assert/strict";
import { keys } from "../storage/keys.ts";
import type { MessageVersion } from "../storage/records.ts";
import { expectStatus, setup, type TestContext } from "./helpers.ts";

type Message = {
  id: string;
  seq: number;
  roomId: string;
  content: string;
  isEdited: boolean;
  editedAt?: string;
  reactions: { emoji: string; count: number; userIds: string[] }[];
} & Record<string, unknown>;
type Room = { id: string; unreadCount: number; lastMessage: string | null; lastMessageId: string | null };

async function send(t: TestContext, from: string, roomId: string, content: string): Promise<Message> {
  const res = await t.api(from, "POST", "/api/chat/send", { roomId, content });
  return (await expectStatus<{ message: Message }>(res, 200)).message;
}

async function roomOf(t: TestContext, user: string, roomId: string): Promise<Room & { totalUnread: number }> {
  const list = await expectStatus<{ rooms: Room[]; totalUnread: number }>(
    await t.api(user, "GET", "/api/chat/rooms"),
    200,
  );
  const room = list.rooms.find((r) => r.id === roomId);
  assert.ok(room, `${user} lists ${roomId}`);
  return { ...room, totalUnread: list.totalUnread };
}

async function messages(t: TestContext, user: string, roomId: string): Promise<Message[]> {
  const query = `/api/chat/messages?roomId=${roomId}&afterSeq=0`; // a cursor page: does not mark read
  return (await expectStatus<{ messages: Message[] }>(await t.api(user, "GET", query), 200)).messages;
}

/**
 * A group of alice (owner), bob (admin), carol and frank (members), dave (a
 * member who left) and erin (never a member), plus a direct room alice–bob.
 */
async function world(t: TestContext) {
  for (const u of ["alice", "bob", "carol", "dave", "erin", "frank"]) await t.login(u);
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/groups", {
      name: "Team",
      memberIds: ["bob", "carol", "dave", "frank"],
    }),
    200,
  );
  await expectStatus(
    await t.api("alice", "PATCH", `/api/chat/rooms/${roomId}/members/bob`, { role: "admin" }),
    200,
  );
  const direct = await expectStatus<{ message: Message }>(
    await t.api("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "hi bob" }),
    200,
  );
  const daveLeaves = await t.api("dave", "DELETE", `/api/chat/rooms/${roomId}/members/dave`);
  await expectStatus(daveLeaves, 200);
  return { roomId, directRoomId: direct.message.roomId };
}

const callers = ["alice", "bob", "carol", "frank", "dave", "erin"] as const;
type Caller = typeof callers[number];
const roleOf: Record<Caller, string> = {
  alice: "owner",
  bob: "admin",
  carol: "member, sender",
  frank: "member",
  dave: "left member",
  erin: "non-member",
};

// Who may act on a message carol sent in the group (expected status per caller).
const matrix: { action: "edit" | "delete" | "react"; expected: Record<Caller, number> }[] = [
  // erin was never a member: she gets what a room that does not exist gives (404), a former member 403.
  { action: "edit", expected: { alice: 403, bob: 403, carol: 200, frank: 403, dave: 403, erin: 404 } },
  { action: "delete", expected: { alice: 200, bob: 200, carol: 200, frank: 403, dave: 403, erin: 404 } },
  { action: "react", expected: { alice: 200, bob: 200, carol: 200, frank: 200, dave: 403, erin: 404 } },
];

function act(t: TestContext, caller: string, action: "edit" | "delete" | "react", messageId: string) {
  const path = `/api/chat/messages/${encodeURIComponent(messageId)}`;
  if (action === "edit") return t.api(caller, "PATCH", path, { content: `edited by ${caller}` });
  if (action === "delete") return t.api(caller, "DELETE", path);
  return t.api(caller, "POST", `${path}/reactions`, { emoji: "👍" });
}

Deno.test("message actions follow the role matrix: edit by the sender, delete by sender/owner/admin, react by members", async () => {
  await using t = await setup();
  const { roomId } = await world(t);
  for (const { action, expected } of matrix) {
    for (const caller of callers) {
      const message = await send(t, "carol", roomId, `for ${action} by ${caller}`);
      const res = await act(t, caller, action, message.id);
      const body = await res.json();
      assert.equal(
        res.status,
        expected[caller],
        `${action} by ${caller} (${roleOf[caller]}): ${JSON.stringify(body)}`,
      );
      if (res.status !== 200) assert.equal(typeof body.error, "string");
    }
  }
});

Deno.test("message actions in a direct room: only the sender edits or deletes, both react", async () => {
  await using t = await setup();
  const { directRoomId } = await world(t);
  const message = await send(t, "alice", directRoomId, "hello");
  for (
    const [caller, action, status] of [
      ["bob", "edit", 403],
      ["bob", "delete", 403],
      ["erin", "react", 404],
      ["bob", "react", 200],
      ["alice", "react", 200],
      ["alice", "edit", 200],
      ["alice", "delete", 200],
    ] as const
  ) {
    const res = await act(t, caller, action, message.id);
    assert.equal(res.status, status, `${action} by ${caller}: ${await res.text()}`);
  }
});

Deno.test("PATCH /api/chat/messages/:id edits, keeps every version and updates the preview of the latest", async () => {
  await using t = await setup();
  const { roomId } = await world(t);
  const first = await send(t, "carol", roomId, "first");
  const latest = await send(t, "carol", roomId, "helo wrld");
  const res = await t.api("carol", "PATCH", `/api/chat/messages/${latest.id}`, { content: "  hello world " });
  const { message } = await expectStatus<{ message: Message }>(res, 200);
  assert.equal(message.content, "hello world");
  assert.equal(message.isEdited, true);
  assert.ok(message.editedAt && Date.parse(message.editedAt) >= Date.parse(latest.createdAt as string));
  assert.equal(message.seq, latest.seq);
  await expectStatus(
    await t.api("carol", "PATCH", `/api/chat/messages/${latest.id}`, { content: "hello!" }),
    200,
  );
  await expectStatus(
    await t.api("carol", "PATCH", `/api/chat/messages/${first.id}`, { content: "1st" }),
    200,
  );

  const room = await roomOf(t, "alice", roomId);
  assert.equal(room.lastMessage, "hello!");
  const versions: MessageVersion[] = [];
  for await (const e of t.kv.list<MessageVersion>({ prefix: keys.messageVersions(roomId, latest.seq) })) {
    versions.push(e.value);
  }
  assert.deepEqual(versions.map((v) => [v.version, v.content]), [[0, "helo wrld"], [1, "hello world"]]);
  const shown = await messages(t, "alice", roomId);
  assert.deepEqual(shown.filter((m) => m.isEdited).map((m) => m.content).sort(), ["1st", "hello!"]);
  assert.equal((shown.find((m) => m.id === latest.id) as Message).content, "hello!");
});

Deno.test("PATCH /api/chat/messages/:id validates its content and id", async () => {
  await using t = await setup();
  const { roomId } = await world(t);
  const message = await send(t, "carol", roomId, "text");
  const path = `/api/chat/messages/${message.id}`;
  await expectStatus(await t.api("carol", "PATCH", path, { content: "   " }), 400);
  await expectStatus(await t.api("carol", "PATCH", path, { content: "x".repeat(4001) }), 400);
  await expectStatus(await t.api("carol", "PATCH", path, {}), 400);
  await expectStatus(await t.api("carol", "PATCH", "/api/chat/messages/nope", { content: "x" }), 404);
  await expectStatus(await t.api("carol", "PATCH", `/api/chat/messages/${roomId}:99`, { content: "x" }), 404);
  await expectStatus(await t.api("carol", "PATCH", "/api/chat/messages/ghost_room:1", { content: "x" }), 404);
  await expectStatus(await t.api("carol", "DELETE", path), 200);
  await expectStatus(await t.api("carol", "PATCH", path, { content: "back" }), 404);
});

Deno.test("DELETE /api/chat/messages/:id hides the message, lowers unread counts and falls back the preview", async () => {
  await using t = await setup();
  const { roomId } = await world(t);
  const one = await send(t, "carol", roomId, "one");
  const two = await send(t, "carol", roomId, "two");
  assert.equal((await roomOf(t, "frank", roomId)).unreadCount, 2);
  const res = await t.api("carol", "DELETE", `/api/chat/messages/${two.id}`);
  assert.deepEqual(await expectStatus(res, 200), { success: true, messageId: two.id, roomId, seq: two.seq });

  const frank = await roomOf(t, "frank", roomId);
  assert.equal(frank.unreadCount, 1);
  assert.equal(frank.totalUnread, 1);
  assert.equal(frank.lastMessage, "one");
  assert.equal(frank.lastMessageId, one.id);
  assert.deepEqual((await messages(t, "frank", roomId)).map((m) => m.id), [one.id]);

  // Idempotent: a second delete is 200 and changes nothing.
  await expectStatus(await t.api("carol", "DELETE", `/api/chat/messages/${two.id}`), 200);
  await expectStatus(await t.api("alice", "DELETE", `/api/chat/messages/${one.id}`), 200);
  const empty = await roomOf(t, "frank", roomId);
  assert.equal(empty.lastMessage, null);
  assert.equal(empty.unreadCount, 0);
  // A new message still gets the next seq.
  assert.equal((await send(t, "bob", roomId, "three")).seq, two.seq + 1);
  assert.equal((await roomOf(t, "frank", roomId)).unreadCount, 1);
  await expectStatus(await t.api("carol", "DELETE", `/api/chat/messages/${roomId}:999`), 404);
});

Deno.test("POST /api/chat/messages/:id/reactions toggles and aggregates reactions", async () => {
  await using t = await setup();
  const { roomId } = await world(t);
  const message = await send(t, "carol", roomId, "react to me");
  const path = `/api/chat/messages/${encodeURIComponent(message.id)}/reactions`;
  const react = async (user: string, emoji: string) =>
    await expectStatus<{ message: Message; added: boolean }>(await t.api(user, "POST", path, { emoji }), 200);
  assert.equal((await react("alice", "👍")).added, true);
  await react("bob", "👍");
  const last = await react("carol", "❤️");
  assert.deepEqual(last.message.reactions, [
    { emoji: "👍", count: 2, userIds: ["alice", "bob"] },
    { emoji: "❤️", count: 1, userIds: ["carol"] },
  ]);
  const undone = await react("alice", "👍");
  assert.equal(undone.added, false);
  assert.deepEqual(undone.message.reactions[0], { emoji: "👍", count: 1, userIds: ["bob"] });
  const shown = (await messages(t, "frank", roomId)).find((m) => m.id === message.id)!;
  assert.deepEqual(shown.reactions, undone.message.reactions);
  for (const emoji of ["", "two words", "x".repeat(33), "\n"]) {
    await expectStatus(await t.api("bob", "POST", path, { emoji }), 400);
  }
  await expectStatus(await t.api("bob", "POST", path, { emoji: ":party_parrot:" }), 200);
});

Deno.test("message routes are 401 without a token", async () => {
  await using t = await setup();
  for (
    const [method, path] of [["PATCH", "/api/chat/messages/r:1"], ["DELETE", "/api/chat/messages/r:1"], [
      "POST",
      "/api/chat/messages/r:1/reactions",
    ]]
  ) {
    const res = await t.request(path!, { method });
    assert.equal(res.status, 401);
    await res.body?.cancel();
  }
});

type Version = { version: number; content: string; writtenAt: string; replacedAt: string };

Deno.test("GET /api/chat/messages/:id/versions lists the edit history newest first to the room's members", async () => {
  await using t = await setup();
  const { roomId } = await world(t);
  const early = await send(t, "carol", roomId, "draft");
  const path = `/api/chat/messages/${encodeURIComponent(early.id)}/versions`;
  const history = async (user: string) =>
    await expectStatus<{ message: Message; versions: Version[] }>(await t.api(user, "GET", path), 200);
  assert.deepEqual((await history("carol")).versions, [], "an unedited message has no earlier versions");

  for (const content of ["second", "third"]) {
    await expectStatus(await t.api("carol", "PATCH", `/api/chat/messages/${early.id}`, { content }), 200);
  }
  const { message, versions } = await history("frank");
  assert.equal(message.content, "third");
  assert.deepEqual(versions.map((v) => [v.version, v.content]), [[1, "second"], [0, "draft"]]);
  assert.equal(versions[1]!.writtenAt, early.createdAt);
  assert.equal(
    versions[0]!.writtenAt,
    versions[1]!.replacedAt,
    "each version was written when the one before went",
  );
  assert.equal(versions[0]!.replacedAt, message.editedAt);
  assert.deepEqual((await history("alice")).versions, versions, "any member, not only the sender");

  // dave left before this message: it was never his to see; erin was never in the room.
  const late = await send(t, "carol", roomId, "after dave left");
  const latePath = `/api/chat/messages/${encodeURIComponent(late.id)}/versions`;
  await expectStatus(await t.api("dave", "GET", latePath), 404);
  await expectStatus(await t.api("erin", "GET", path), 404);
  await expectStatus(await t.api("erin", "GET", `/api/chat/messages/${roomId}:999/versions`), 404);
  await expectStatus(await t.api("carol", "GET", `/api/chat/messages/${roomId}:999/versions`), 404);
  await expectStatus(await t.api("carol", "GET", "/api/chat/messages/nope/versions"), 404);
  await expectStatus(await t.api("carol", "DELETE", `/api/chat/messages/${early.id}`), 200);
  await expectStatus(await t.api("carol", "GET", path), 404);
  const unauthenticated = await t.request(path);
  assert.equal(unauthenticated.status, 401);
  await unauthenticated.body?.cancel();
});

Deno.test("GET /api/chat/messages/:id/versions: a member who left sees the history of what they could see", async () => {
  await using t = await setup();
  const { roomId } = await world(t);
  const message = await send(t, "carol", roomId, "v0");
  await expectStatus(
    await t.api("carol", "PATCH", `/api/chat/messages/${message.id}`, { content: "v1" }),
    200,
  );
  await expectStatus(await t.api("frank", "DELETE", `/api/chat/rooms/${roomId}/members/frank`), 200);
  const res = await t.api("frank", "GET", `/api/chat/messages/${encodeURIComponent(message.id)}/versions`);
  const { versions } = await expectStatus<{ versions: Version[] }>(res, 200);
  assert.deepEqual(versions.map((v) => v.content), ["v0"]);
});
