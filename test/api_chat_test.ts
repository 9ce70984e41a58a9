import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { expectStatus, json, setup, type TestContext } from "./helpers.ts";

type Message =
  & { id: string; seq: number; roomId: string; isRead: boolean; content: string }
  & Record<string, unknown>;
type Room = { id: string; unreadCount: number; name: string; lastSeq: number } & Record<string, unknown>;

async function send(t: TestContext, from: string, body: Record<string, unknown>): Promise<Message> {
  const res = await t.api(from, "POST", "/api/chat/send", body);
  return (await expectStatus<{ message: Message }>(res, 200)).message;
}

async function rooms(
  t: TestContext,
  user: string,
  query = "",
): Promise<{ rooms: Room[]; totalUnread: number; nextCursor?: string }> {
  return await expectStatus(await t.api(user, "GET", `/api/chat/rooms${query}`), 200);
}

async function page(t: TestContext, user: string, query: string) {
  return await expectStatus<{ messages: Message[]; hasMore: boolean }>(
    await t.api(user, "GET", `/api/chat/messages?${query}`),
    200,
  );
}

async function expectError(res: Response, status: number, error?: string | RegExp): Promise<void> {
  const body = await expectStatus<{ error: string }>(res, status);
  assert.equal(typeof body.error, "string");
  if (typeof error === "string") assert.equal(body.error, error);
  else if (error) assert.match(body.error, error);
}

// ---- Identity ------------------------------------------------------------------------------------

Deno.test("GET /api/chat/rooms is 401 without a token, with an expired, foreign, unsigned or malformed one", async () => {
  const secret = "x".repeat(40);
  await using t = await setup({ AUTH_JWT_SECRET: secret });
  const key = new TextEncoder().encode(secret);
  const now = Math.floor(Date.now() / 1000);
  const expired = await new SignJWT({ name: "A" }).setProtectedHeader({ alg: "HS256" }).setSubject("alice")
    .setExpirationTime(now - 5).sign(key);
  const foreign = await new SignJWT({ name: "A" }).setProtectedHeader({ alg: "HS256" }).setSubject("alice")
    .setExpirationTime(now + 60).sign(new TextEncoder().encode("y".repeat(40)));
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replaceAll("=", "");
  const none = `${b64({ alg: "none" })}.${b64({ sub: "alice", exp: now + 60 })}.`;
  const headers: (Record<string, string> | undefined)[] = [
    undefined,
    { Authorization: `Bearer ${expired}` },
    { Authorization: `Bearer ${foreign}` },
    { Authorization: `Bearer ${none}` },
    { Authorization: "Bearer not.a.jwt" },
    { Authorization: "Basic YWxpY2U6cHc=" },
    { Authorization: "Bearer" },
  ];
  for (const h of headers) {
    await expectError(await t.request("/api/chat/rooms", { headers: h }), 401, "Unauthorized");
  }
  const valid = await new SignJWT({ name: "Alice" }).setProtectedHeader({ alg: "HS256" }).setSubject("alice")
    .setExpirationTime(now + 60).sign(key);
  await expectStatus(
    await t.request("/api/chat/rooms", { headers: { Authorization: `Bearer ${valid}` } }),
    200,
  );
});

Deno.test("POST /api/dev/login gives a working token in demo mode and validates its input", async () => {
  await using t = await setup();
  const { token } = await expectStatus<{ token: string }>(
    await t.request("/api/dev/login", json("POST", { userId: "alice", name: "Alice" })),
    200,
  );
  await expectStatus(
    await t.request("/api/chat/rooms", { headers: { Authorization: `Bearer ${token}` } }),
    200,
  );
  await expectError(
    await t.request("/api/dev/login", json("POST", { userId: "bad id", name: "X" })),
    400,
    /^userId: /,
  );
  await expectError(await t.request("/api/dev/login", json("POST", { userId: "bob" })), 400, /^name: /);
});

Deno.test("POST /api/dev/login is 404 outside demo mode unless DEV_LOGIN=1", async () => {
  {
    await using t = await setup({ AUTH_JWT_SECRET: "z".repeat(32) });
    await expectError(await t.request("/api/dev/login", json("POST", { userId: "a", name: "A" })), 404);
  }
  await using t = await setup({ AUTH_JWT_SECRET: "z".repeat(32), DEV_LOGIN: "1" });
  await expectStatus(await t.request("/api/dev/login", json("POST", { userId: "a", name: "A" })), 200);
});

Deno.test("PUT /api/admin/users/:id provisions a user behind X-Admin-Key", async () => {
  await using t = await setup({ ADMIN_API_KEY: "k3y-0123456789abcdef" });
  const put = (id: string, key: string | undefined, body: unknown) =>
    t.request(`/api/admin/users/${id}`, {
      ...json("PUT", body),
      headers: { "Content-Type": "application/json", ...(key ? { "X-Admin-Key": key } : {}) },
    });
  const user = await expectStatus<Record<string, unknown>>(
    await put("carol", "k3y-0123456789abcdef", { name: "Carol" }),
    200,
  );
  assert.equal(user.name, "Carol");
  await expectError(await put("carol", "wrong", { name: "Carol" }), 401, "Unauthorized");
  await expectError(await put("carol", undefined, { name: "Carol" }), 401, "Unauthorized");
  await expectError(await put("bad%20id", "k3y-0123456789abcdef", { name: "X" }), 400, /^id: /);
  // The provisioned user can now receive messages.
  const message = await send(t, "alice", { receiverId: "carol", content: "hi" });
  assert.equal(message.receiverId, "carol");
});

Deno.test("PUT /api/admin/users/:id is 404 when ADMIN_API_KEY is unset", async () => {
  await using t = await setup();
  await expectError(await t.request("/api/admin/users/x", json("PUT", { name: "X" })), 404);
});

// ---- Send ----------------------------------------------------------------------------------------

Deno.test("POST /api/chat/send to a receiver creates the direct room and returns the Message", async () => {
  await using t = await setup();
  await t.login("bob");
  const message = await send(t, "alice", { receiverId: "bob", content: "  hello bob  " });
  assert.equal(message.seq, 1);
  assert.equal(message.content, "hello bob");
  assert.equal(message.senderId, "alice");
  assert.equal(message.receiverId, "bob");
  assert.deepEqual(message.sender, { id: "alice", name: "Alice", avatar: null });
  assert.equal(message.type, "text");
  assert.deepEqual(message.reactions, []);
  assert.equal(message.isDelivered, true);
  assert.equal(message.isRead, false);
  assert.equal(message.isEdited, false);
  assert.match(message.createdAt as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const second = await send(t, "bob", { roomId: message.roomId, content: "hi alice" });
  assert.equal(second.seq, 2);
  assert.equal(second.receiverId, "alice");
});

Deno.test("POST /api/chat/send rejects bad destinations with the precise status", async () => {
  await using t = await setup();
  await t.login("bob");
  await t.login("carol");
  const { roomId } = await send(t, "alice", { receiverId: "bob", content: "x" });
  await expectError(
    await t.api("alice", "POST", "/api/chat/send", { receiverId: "nobody", content: "x" }),
    404,
    "Receiver not found",
  );
  await expectError(
    await t.api("alice", "POST", "/api/chat/send", { receiverId: "alice", content: "x" }),
    400,
    /^receiverId: /,
  );
  // Someone who was never in the room learns nothing: the answer is that of a room that does not exist.
  await expectError(
    await t.api("carol", "POST", "/api/chat/send", { roomId, content: "x" }),
    404,
    "Room not found",
  );
  await expectError(
    await t.api("alice", "POST", "/api/chat/send", { roomId: "no-such-room", content: "x" }),
    404,
    "Room not found",
  );
  await expectError(
    await t.api("alice", "POST", "/api/chat/send", { roomId, receiverId: "bob", content: "x" }),
    400,
  );
  await expectError(await t.api("alice", "POST", "/api/chat/send", { content: "x" }), 400);
  await expectError(
    await t.api("alice", "POST", "/api/chat/send", { roomId: "bad/room", content: "x" }),
    400,
    /^roomId: /,
  );
});

Deno.test("POST /api/chat/send validates content, attachments, metadata and clientMessageId", async () => {
  await using t = await setup();
  await t.login("bob");
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ content: "" }, /^content: /],
    [{ content: "   \n " }, /^content: /],
    [{ content: "x".repeat(4001) }, /^content: /],
    [{ content: 42 }, /^content: /],
    [{ content: "x", type: "video" }, /^type: /],
    [{ content: "", type: "image" }, /^attachmentUrl: /],
    [{ content: "x", attachmentUrl: "https://x.example/a.png" }, /^type: /],
    [{ content: "x", type: "file", attachmentUrl: "javascript:alert(1)" }, /^attachmentUrl: /],
    [
      { content: "x", type: "file", attachmentUrl: "https://x/a", attachmentType: "pdf" },
      /^attachmentType: /,
    ],
    [{ content: "x", type: "file", attachmentUrl: "https://x/a", attachmentSize: -1 }, /^attachmentSize: /],
    [{ content: "x", metadata: { blob: "m".repeat(2100) } }, /^metadata: /],
    [{ content: "x", metadata: "nope" }, /^metadata: /],
    [{ content: "x", clientMessageId: "c".repeat(65) }, /^clientMessageId: /],
    [{ content: "x", replyToId: "other-room:1" }, /^replyToId: /],
  ];
  for (const [body, error] of bad) {
    await expectError(
      await t.api("alice", "POST", "/api/chat/send", { receiverId: "bob", ...body }),
      400,
      error,
    );
  }
  const photo = await send(t, "alice", {
    receiverId: "bob",
    content: "",
    type: "image",
    attachmentUrl: "https://cdn.example/p.png",
    attachmentType: "image/png",
    attachmentName: "p.png",
    attachmentSize: 1234,
    metadata: { w: 10 },
  });
  assert.equal(photo.attachmentUrl, "https://cdn.example/p.png");
  assert.deepEqual(photo.metadata, { w: 10 });
  assert.equal((await rooms(t, "bob")).rooms[0]!.lastMessage, "📷 Photo");
  const longest = await send(t, "alice", { receiverId: "bob", content: "😀".repeat(4000) });
  assert.equal(Array.from(longest.content).length, 4000);
});

Deno.test("POST /api/chat/send answers bad bodies with 400, 413 and 415, never 500", async () => {
  await using t = await setup();
  const token = await t.login("alice");
  const post = (body: BodyInit, type?: string) =>
    t.request("/api/chat/send", {
      method: "POST",
      body,
      headers: { Authorization: `Bearer ${token}`, ...(type ? { "Content-Type": type } : {}) },
    });
  await expectError(await post("{bad", "application/json"), 400);
  await expectError(await post("[]", "application/json"), 400);
  await expectError(await post("null", "application/json"), 400);
  await expectError(await post('{"receiverId":"bob","content":"x"}'), 415);
  await expectError(
    await post(JSON.stringify({ receiverId: "bob", content: "x".repeat(70_000) }), "application/json"),
    413,
  );
});

Deno.test("POST /api/chat/send with a repeated clientMessageId returns the original and creates nothing", async () => {
  await using t = await setup();
  await t.login("bob");
  const body = { receiverId: "bob", content: "once", clientMessageId: "retry-1" };
  const first = await send(t, "alice", body);
  const again = await send(t, "alice", body);
  const viaRoom = await send(t, "alice", { ...body, receiverId: undefined, roomId: first.roomId });
  assert.equal(again.id, first.id);
  assert.equal(again.seq, 1);
  assert.equal(viaRoom.id, first.id);
  const bob = await rooms(t, "bob");
  assert.equal(bob.rooms[0]!.unreadCount, 1);
  assert.equal(bob.totalUnread, 1);
  assert.equal((await page(t, "alice", `roomId=${first.roomId}`)).messages.length, 1);
});

Deno.test("POST /api/chat/send over the rate limit is 429 with Retry-After", async () => {
  await using t = await setup({ RATE_LIMIT_SEND_PER_MIN: "3" });
  await t.login("bob");
  for (let i = 0; i < 3; i++) await send(t, "alice", { receiverId: "bob", content: `m${i}` });
  const res = await t.api("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "one too many" });
  assert.equal(res.status, 429);
  const retryAfter = Number(res.headers.get("Retry-After"));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  await expectError(res, 429);
  // Another user is not affected.
  await send(t, "bob", { receiverId: "alice", content: "fine" });
});

// ---- Rooms and messages --------------------------------------------------------------------------

Deno.test("GET /api/chat/rooms lists rooms newest first with exact unread counts and totalUnread", async () => {
  await using t = await setup();
  for (const u of ["alice", "bob", "carol", "dave"]) await t.login(u);
  await send(t, "bob", { receiverId: "alice", content: "from bob" });
  await send(t, "carol", { receiverId: "alice", content: "from carol 1" });
  await send(t, "carol", { receiverId: "alice", content: "from carol 2" });
  await send(t, "alice", { receiverId: "dave", content: "to dave" });
  const list = await rooms(t, "alice");
  assert.deepEqual(list.rooms.map((r) => r.name), ["Dave", "Carol", "Bob"]);
  assert.deepEqual(list.rooms.map((r) => r.unreadCount), [0, 2, 1]);
  assert.equal(list.totalUnread, 3);
  const carol = list.rooms[1]!;
  assert.equal(carol.type, "DIRECT");
  assert.equal(carol.lastMessage, "from carol 2");
  assert.equal(carol.lastSeq, 2);
  assert.deepEqual((carol.participants as { id: string }[]).map((p) => p.id).sort(), ["alice", "carol"]);
  assert.equal(list.nextCursor, undefined);
});

Deno.test("GET /api/chat/rooms pages with cursor and validates its query", async () => {
  await using t = await setup();
  await t.login("alice");
  for (let i = 0; i < 5; i++) {
    await t.login(`u${i}`);
    await send(t, `u${i}`, { receiverId: "alice", content: `m${i}` });
  }
  const first = await rooms(t, "alice", "?limit=2");
  assert.deepEqual(first.rooms.map((r) => r.name), ["U4", "U3"]);
  const second = await rooms(t, "alice", `?limit=2&cursor=${first.nextCursor}`);
  assert.deepEqual(second.rooms.map((r) => r.name), ["U2", "U1"]);
  const third = await rooms(t, "alice", `?limit=2&cursor=${second.nextCursor}`);
  assert.deepEqual(third.rooms.map((r) => r.name), ["U0"]);
  assert.equal(third.nextCursor, undefined);
  assert.equal(first.totalUnread, 5);
  for (
    const q of ["?limit=0", "?limit=101", "?limit=x", "?cursor=%%%", "?cursor=bm9wZQ", "?archived=maybe"]
  ) {
    await expectError(await t.api("alice", "GET", `/api/chat/rooms${q}`), 400);
  }
});

Deno.test("GET /api/chat/messages pages newest first, by beforeId, and by afterSeq oldest first", async () => {
  await using t = await setup();
  await t.login("bob");
  let roomId = "";
  for (let i = 1; i <= 7; i++) {
    roomId = (await send(t, "alice", { receiverId: "bob", content: `m${i}` })).roomId;
  }
  const newest = await page(t, "alice", `roomId=${roomId}&limit=3`);
  assert.deepEqual(newest.messages.map((m) => m.seq), [7, 6, 5]);
  assert.equal(newest.hasMore, true);
  const older = await page(t, "alice", `roomId=${roomId}&limit=3&beforeId=${newest.messages[2]!.id}`);
  assert.deepEqual(older.messages.map((m) => m.seq), [4, 3, 2]);
  assert.equal(older.hasMore, true);
  const oldest = await page(t, "alice", `roomId=${roomId}&limit=3&beforeId=${older.messages[2]!.id}`);
  assert.deepEqual(oldest.messages.map((m) => m.seq), [1]);
  assert.equal(oldest.hasMore, false);
  const gap = await page(t, "alice", `roomId=${roomId}&afterSeq=2&limit=3`);
  assert.deepEqual(gap.messages.map((m) => m.seq), [3, 4, 5]);
  assert.equal(gap.hasMore, true);
  const tail = await page(t, "alice", `roomId=${roomId}&afterSeq=5`);
  assert.deepEqual(tail.messages.map((m) => m.seq), [6, 7]);
  assert.equal(tail.hasMore, false);
  assert.deepEqual((await page(t, "alice", `roomId=${roomId}&afterSeq=7`)).messages, []);
});

Deno.test("GET /api/chat/messages rejects non-members, unknown rooms and bad queries", async () => {
  await using t = await setup();
  await t.login("bob");
  await t.login("carol");
  const { roomId } = await send(t, "alice", { receiverId: "bob", content: "x" });
  const other = await send(t, "alice", { receiverId: "carol", content: "y" });
  // A room carol was never in and a room that does not exist give her the same answer.
  const never = await t.api("carol", "GET", `/api/chat/messages?roomId=${roomId}`);
  const missing = await t.api("carol", "GET", "/api/chat/messages?roomId=missing");
  assert.deepEqual([never.status, await never.json()], [missing.status, await missing.json()]);
  await expectError(await t.api("alice", "GET", "/api/chat/messages?roomId=missing"), 404, "Room not found");
  for (
    const q of [
      "",
      `roomId=${roomId}&limit=0`,
      `roomId=${roomId}&limit=101`,
      `roomId=${roomId}&afterSeq=-1`,
      `roomId=${roomId}&afterSeq=1&beforeId=${roomId}:1`,
      `roomId=${roomId}&beforeId=${other.id}`,
      `roomId=${roomId}&beforeId=nonsense`,
      "roomId=a/b",
    ]
  ) {
    await expectError(await t.api("alice", "GET", `/api/chat/messages?${q}`), 400);
  }
});

Deno.test("GET /api/chat/messages newest page marks the room read; cursor pages do not", async () => {
  await using t = await setup();
  await t.login("bob");
  let last: Message | undefined;
  for (let i = 0; i < 3; i++) last = await send(t, "alice", { receiverId: "bob", content: `m${i}` });
  const roomId = last!.roomId;
  await page(t, "bob", `roomId=${roomId}&afterSeq=0`);
  await page(t, "bob", `roomId=${roomId}&beforeId=${last!.id}`);
  assert.equal((await rooms(t, "bob")).totalUnread, 3);
  const newest = await page(t, "bob", `roomId=${roomId}`);
  assert.ok(newest.messages.every((m) => m.isRead), "receipts reflect the read this page made");
  assert.equal((await rooms(t, "bob")).totalUnread, 0);
  const seen = await page(t, "alice", `roomId=${roomId}`);
  assert.ok(seen.messages.every((m) => m.isRead && typeof m.readAt === "string"));
});

// ---- Start, read, typing, groups -----------------------------------------------------------------

Deno.test("POST /api/chat/start returns the same room every time, the one messages go to", async () => {
  await using t = await setup();
  await t.login("bob");
  const start = async (user: string, receiverId: string) =>
    (await expectStatus<{ roomId: string }>(
      await t.api(user, "POST", "/api/chat/start", { receiverId }),
      200,
    )).roomId;
  const a = await start("alice", "bob");
  const b = await start("bob", "alice");
  assert.equal(a, b);
  assert.equal((await send(t, "alice", { receiverId: "bob", content: "x" })).roomId, a);
  assert.equal((await rooms(t, "alice")).rooms.length, 1);
  await expectError(await t.api("alice", "POST", "/api/chat/start", { receiverId: "alice" }), 400);
  await expectError(
    await t.api("alice", "POST", "/api/chat/start", { receiverId: "ghost" }),
    404,
    "Receiver not found",
  );
  await expectError(await t.api("alice", "POST", "/api/chat/start", {}), 400, /^receiverId: /);
});

Deno.test("POST /api/chat/read moves the read position forward only and returns the unread count", async () => {
  await using t = await setup();
  await t.login("bob");
  await t.login("carol");
  const sent: Message[] = [];
  for (let i = 0; i < 4; i++) sent.push(await send(t, "alice", { receiverId: "bob", content: `m${i}` }));
  const roomId = sent[0]!.roomId;
  const read = async (body: unknown) =>
    (await expectStatus<{ unreadCount: number }>(await t.api("bob", "POST", "/api/chat/read", body), 200))
      .unreadCount;
  assert.equal(await read({ roomId, messageIds: [sent[1]!.id] }), 2);
  assert.equal(await read({ roomId, messageIds: [sent[0]!.id] }), 2);
  assert.equal((await rooms(t, "bob")).totalUnread, 2);
  assert.equal(await read({ roomId }), 0);
  const other = await send(t, "alice", { receiverId: "carol", content: "z" });
  await expectError(
    await t.api("bob", "POST", "/api/chat/read", { roomId, messageIds: [other.id] }),
    400,
    /^messageIds: /,
  );
  await expectError(await t.api("carol", "POST", "/api/chat/read", { roomId }), 404, "Room not found");
  await expectError(await t.api("bob", "POST", "/api/chat/read", { roomId: "nope" }), 404);
  await expectError(await t.api("bob", "POST", "/api/chat/read", { roomId, messageIds: "x" }), 400);
});

Deno.test("POST /api/chat/typing is accepted for members only", async () => {
  await using t = await setup();
  await t.login("bob");
  await t.login("carol");
  const { roomId } = await send(t, "alice", { receiverId: "bob", content: "x" });
  assert.deepEqual(
    await expectStatus(await t.api("bob", "POST", "/api/chat/typing", { roomId, isTyping: true }), 202),
    {
      success: true,
    },
  );
  await expectError(
    await t.api("carol", "POST", "/api/chat/typing", { roomId, isTyping: true }),
    404,
    "Room not found",
  );
  await expectError(await t.api("bob", "POST", "/api/chat/typing", { roomId: "nope", isTyping: true }), 404);
  await expectError(
    await t.api("bob", "POST", "/api/chat/typing", { roomId, isTyping: "yes" }),
    400,
    /^isTyping: /,
  );
});

Deno.test("POST /api/chat/groups creates a group whose members count unread exactly", async () => {
  await using t = await setup();
  for (const u of ["bob", "carol", "dave"]) await t.login(u);
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/groups", {
      name: " Team ",
      memberIds: ["bob", "carol", "bob", "alice"],
    }),
    200,
  );
  await send(t, "alice", { roomId, content: "hello team" });
  await send(t, "bob", { roomId, content: "hi" });
  const byUser = async (u: string) => (await rooms(t, u)).rooms.find((r) => r.id === roomId);
  const room = await byUser("carol");
  assert.equal(room?.name, "Team");
  assert.equal(room?.type, "GROUP");
  assert.equal(room?.unreadCount, 2);
  assert.equal((await byUser("alice"))?.unreadCount, 1);
  assert.equal((await byUser("bob"))?.unreadCount, 0);
  assert.deepEqual(
    (room?.participants as { id: string; role: string }[]).map((p) => [p.id, p.role]).sort(),
    [["alice", "owner"], ["bob", "member"], ["carol", "member"]],
  );
  await expectError(
    await t.api("dave", "POST", "/api/chat/send", { roomId, content: "let me in" }),
    404,
    "Room not found",
  );
  await expectError(
    await t.api("alice", "POST", "/api/chat/groups", { name: "X", memberIds: ["ghost"] }),
    404,
  );
  await expectError(
    await t.api("alice", "POST", "/api/chat/groups", { name: "X", memberIds: [] }),
    400,
    /^memberIds: /,
  );
  await expectError(
    await t.api("alice", "POST", "/api/chat/groups", { name: "", memberIds: ["bob"] }),
    400,
    /^name: /,
  );
  // isRead in a group: only once every other member has read.
  await page(t, "bob", `roomId=${roomId}`);
  const first = (await page(t, "alice", `roomId=${roomId}&afterSeq=0`)).messages[0]!;
  assert.equal(first.isRead, false);
  await page(t, "carol", `roomId=${roomId}`);
  assert.equal((await page(t, "alice", `roomId=${roomId}&afterSeq=0`)).messages[0]!.isRead, true);
});

Deno.test("unknown routes answer 404 JSON and /healthz reports the mode", async () => {
  await using t = await setup();
  await expectError(await t.api("alice", "GET", "/api/chat/nothing"), 404, "Not found");
  const health = await expectStatus<Record<string, unknown>>(await t.request("/healthz"), 200);
  assert.equal(health.ok, true);
  assert.equal(health.mode, "demo");
  assert.equal(health.realtime, "embedded");
  assert.equal(health.push, "disabled");
});

Deno.test("user ids and emoji named like Object.prototype members get no access and work normally", async () => {
  await using t = await setup();
  const tricky = ["constructor", "toString", "hasOwnProperty", "valueOf", "__proto__", "isPrototypeOf"];
  await t.login("alice");
  await t.login("bob");
  const secret = await send(t, "alice", { receiverId: "bob", content: "secret" });
  for (const id of tricky) {
    await expectError(await t.api(id, "GET", `/api/chat/messages?roomId=${secret.roomId}`), 404);
    await expectError(
      await t.api(id, "POST", "/api/chat/send", { roomId: secret.roomId, content: "in" }),
      404,
    );
    await expectError(await t.api(id, "POST", "/api/chat/read", { roomId: secret.roomId }), 404);
    await expectError(
      await t.api(id, "POST", "/api/chat/typing", { roomId: secret.roomId, isTyping: true }),
      404,
    );
  }
  // The same ids chat normally in their own rooms, and count unread exactly.
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/groups", { name: "Odd names", memberIds: tricky }),
    200,
  );
  await send(t, "__proto__", { roomId, content: "hello from __proto__" });
  const direct = await send(t, "constructor", { receiverId: "toString", content: "hi" });
  assert.equal(direct.receiverId, "toString");
  const list = await rooms(t, "toString");
  assert.deepEqual(list.rooms.map((r) => r.unreadCount), [1, 1]);
  assert.equal(list.totalUnread, 2);
  const group = list.rooms.find((r) => r.id === roomId)!;
  assert.deepEqual(
    (group.participants as { id: string }[]).map((p) => p.id).sort(),
    ["alice", ...tricky].sort(),
  );
  // Reactions named like prototype members aggregate like any other emoji.
  const target = await send(t, "alice", { roomId, content: "react to me" });
  for (const emoji of ["constructor", "__proto__", "toString"]) {
    await expectStatus(
      await t.api("valueOf", "POST", `/api/chat/messages/${target.id}/reactions`, { emoji }),
      200,
    );
  }
  const shown = (await page(t, "alice", `roomId=${roomId}`)).messages.find((m) => m.id === target.id)!;
  assert.deepEqual(
    shown.reactions,
    ["constructor", "__proto__", "toString"].map((emoji) => ({ emoji, count: 1, userIds: ["valueOf"] })),
  );
});

Deno.test("POST /api/chat/send is refused right after a block, though the room actor has the room cached", async () => {
  await using t = await setup();
  await t.login("bob");
  const first = await send(t, "alice", { receiverId: "bob", content: "hi" }); // the actor caches the room
  await expectStatus(await t.api("bob", "POST", "/api/users/alice/block"), 200);
  await expectError(
    await t.api("alice", "POST", "/api/chat/send", { roomId: first.roomId, content: "still there?" }),
    403,
    "You cannot message this user",
  );
  await expectError(
    await t.api("bob", "POST", "/api/chat/send", { receiverId: "alice", content: "x" }),
    403,
    "Unblock this user to message them",
  );
  await expectError(await t.api("alice", "POST", "/api/chat/start", { receiverId: "bob" }), 403);
  await expectStatus(await t.api("bob", "DELETE", "/api/users/alice/block"), 200);
  const after = await send(t, "alice", { roomId: first.roomId, content: "friends again" });
  assert.equal(after.seq, 2);
  // A retry of a message stored before the block returns it; a new message is refused.
  const kept = await send(t, "alice", { roomId: first.roomId, content: "one more", clientMessageId: "m-3" });
  await expectStatus(await t.api("bob", "POST", "/api/users/alice/block"), 200);
  const retry = await send(t, "alice", { roomId: first.roomId, content: "one more", clientMessageId: "m-3" });
  assert.equal(retry.id, kept.id);
  await expectError(
    await t.api("alice", "POST", "/api/chat/send", { roomId: first.roomId, content: "no" }),
    403,
  );
});
