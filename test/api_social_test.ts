import assert from "node:assert/strict";
import { keys } from "../storage/keys.ts";
import { applyPresence } from "../storage/presence.ts";
import { expectStatus, setup, type TestContext } from "./helpers.ts";
import { startRecorder } from "./support/onesignal_recorder.ts";
import { eventually, FAST_RETRY, pusherAt, startOutboxServer } from "./support/outbox_harness.ts";

type UserJson = {
  id: string;
  name: string;
  avatar: string | null;
  online: boolean;
  lastSeenAt: string | null;
  followers: number;
  following: number;
  isFollowing: boolean;
  followsYou: boolean;
  isBlocked: boolean;
};
type NotificationJson = {
  id: string;
  type: string;
  title: string;
  body: string;
  link: string | null;
  metadata: Record<string, unknown>;
  isRead: boolean;
  createdAt: string;
};
type Page = { notifications: NotificationJson[]; unreadCount: number; hasMore: boolean; nextCursor?: string };

async function users(t: TestContext, ...ids: string[]) {
  for (const id of ids) await t.login(id);
}

async function profile(t: TestContext, viewer: string, id: string): Promise<UserJson> {
  return await expectStatus<UserJson>(await t.api(viewer, "GET", `/api/users/${id}`), 200);
}

async function notifications(t: TestContext, user: string, query = ""): Promise<Page> {
  return await expectStatus<Page>(await t.api(user, "GET", `/api/notifications${query}`), 200);
}

async function send(t: TestContext, from: string, body: Record<string, unknown>): Promise<Response> {
  return await t.api(from, "POST", "/api/chat/send", { content: "hi", ...body });
}

Deno.test("every social route answers 401 without a token", async () => {
  await using t = await setup();
  await users(t, "bob");
  const routes: [string, string][] = [
    ["GET", "/api/users/bob"],
    ["POST", "/api/users/bob/follow"],
    ["DELETE", "/api/users/bob/follow"],
    ["POST", "/api/users/bob/block"],
    ["DELETE", "/api/users/bob/block"],
    ["GET", "/api/users/bob/followers"],
    ["GET", "/api/users/bob/following"],
    ["GET", "/api/notifications"],
    ["GET", "/api/notifications/unread-count"],
    ["POST", "/api/notifications/read"],
  ];
  for (const [method, path] of routes) {
    const res = await t.request(path, { method });
    assert.equal(res.status, 401, `${method} ${path}`);
    assert.deepEqual(await res.json(), { error: "Unauthorized" });
  }
});

Deno.test("GET /api/users/:id returns the profile, presence and counts", async () => {
  await using t = await setup();
  await users(t, "alice", "bob");
  assert.deepEqual(await profile(t, "alice", "bob"), {
    success: true,
    id: "bob",
    name: "Bob",
    avatar: null,
    online: false,
    lastSeenAt: null,
    followers: 0,
    following: 0,
    isFollowing: false,
    followsYou: false,
    isBlocked: false,
  });
  const at = Date.UTC(2026, 10, 25, 8);
  await applyPresence(t.kv, { userId: "bob", channel: "private-user-bob", present: true }, at);
  const online = await profile(t, "alice", "bob");
  assert.equal(online.online, true);
  assert.equal(online.lastSeenAt, "2026-11-25T08:00:00.000Z");
  await applyPresence(t.kv, { userId: "bob", channel: "private-user-bob", present: false }, at + 60_000);
  const offline = await profile(t, "alice", "bob");
  assert.equal(offline.online, false);
  assert.equal(offline.lastSeenAt, "2026-11-25T08:01:00.000Z");
});

Deno.test("GET /api/users/:id answers 404 for an unknown user and 400 for a malformed id", async () => {
  await using t = await setup();
  const missing = await t.api("alice", "GET", "/api/users/nobody");
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { error: "User not found" });
  const bad = await t.api("alice", "GET", "/api/users/" + encodeURIComponent("a b"));
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /^id: /);
});

Deno.test("POST /api/users/:id/follow refuses oneself (400) and unknown users (404)", async () => {
  await using t = await setup();
  await users(t, "alice");
  const self = await t.api("alice", "POST", "/api/users/alice/follow");
  assert.equal(self.status, 400);
  assert.deepEqual(await self.json(), { error: "Cannot follow yourself" });
  const unknown = await t.api("alice", "POST", "/api/users/nobody/follow");
  assert.equal(unknown.status, 404);
  assert.deepEqual(await unknown.json(), { error: "User not found" });
  assert.equal((await t.api("alice", "DELETE", "/api/users/alice/follow")).status, 400);
  assert.equal((await t.api("alice", "DELETE", "/api/users/nobody/follow")).status, 404);
});

Deno.test("POST /api/users/:id/follow is idempotent and counts both sides", async () => {
  await using t = await setup();
  await users(t, "alice", "bob");
  const first = await expectStatus<{ changed: boolean; user: UserJson }>(
    await t.api("alice", "POST", "/api/users/bob/follow"),
    200,
  );
  assert.equal(first.changed, true);
  assert.equal(first.user.followers, 1);
  assert.equal(first.user.isFollowing, true);
  const again = await expectStatus<{ changed: boolean; user: UserJson }>(
    await t.api("alice", "POST", "/api/users/bob/follow"),
    200,
  );
  assert.equal(again.changed, false);
  assert.equal(again.user.followers, 1);
  const alice = await profile(t, "bob", "alice");
  assert.equal(alice.following, 1);
  assert.equal(alice.followsYou, true);
});

Deno.test("DELETE /api/users/:id/follow is idempotent and brings the counts back", async () => {
  await using t = await setup();
  await users(t, "alice", "bob");
  await expectStatus(await t.api("alice", "POST", "/api/users/bob/follow"), 200);
  const first = await expectStatus<{ changed: boolean; user: UserJson }>(
    await t.api("alice", "DELETE", "/api/users/bob/follow"),
    200,
  );
  assert.equal(first.changed, true);
  assert.equal(first.user.followers, 0);
  assert.equal(first.user.isFollowing, false);
  const again = await expectStatus<{ changed: boolean }>(
    await t.api("alice", "DELETE", "/api/users/bob/follow"),
    200,
  );
  assert.equal(again.changed, false);
  assert.equal((await profile(t, "bob", "alice")).following, 0);
});

Deno.test("a follow stores the follow notification once, with the exact title, link and metadata", async () => {
  await using t = await setup();
  await t.login("alice", "Alice");
  await users(t, "bob");
  await expectStatus(await t.api("alice", "POST", "/api/users/bob/follow"), 200);
  await expectStatus(await t.api("alice", "POST", "/api/users/bob/follow"), 200);
  await expectStatus(await t.api("alice", "DELETE", "/api/users/bob/follow"), 200);
  await expectStatus(await t.api("alice", "POST", "/api/users/bob/follow"), 200);
  const page = await notifications(t, "bob");
  assert.equal(
    page.notifications.length,
    1,
    "following again (even after an unfollow) does not notify twice",
  );
  const [n] = page.notifications;
  assert.deepEqual({ ...n, createdAt: undefined }, {
    id: "n1",
    type: "follow",
    title: "Alice started following you",
    body: "",
    link: "/users/alice",
    metadata: { actorId: "alice", actorName: "Alice", actorAvatar: null },
    isRead: false,
    createdAt: undefined,
  });
  assert.ok(Math.abs(Date.parse(n!.createdAt) - Date.now()) < 60_000);
  assert.equal(page.unreadCount, 1);
  assert.equal(page.hasMore, false);
  assert.equal((await notifications(t, "alice")).notifications.length, 0, "the follower gets nothing");
});

Deno.test("a follow writes the realtime notification to the outbox in the same commit", async () => {
  await using t = await setup();
  await users(t, "alice", "bob");
  await expectStatus(await t.api("alice", "POST", "/api/users/bob/follow"), 200);
  const edge = await t.kv.get(keys.follow("alice", "bob"));
  const row = await t.kv.get<{ events: { type: string; userId: string; notification: NotificationJson }[] }>(
    keys.outbox("realtime", "user:bob", 1),
  );
  // Pending until a watcher runs (none in this test), then deleted; when present it came with the edge.
  assert.equal(row.versionstamp, edge.versionstamp);
  assert.equal(row.value?.events[0]?.type, "notification");
  assert.equal(row.value?.events[0]?.userId, "bob");
  assert.deepEqual(row.value?.events[0]?.notification, (await notifications(t, "bob")).notifications[0]);
});

Deno.test("the follow notification reaches private-user-{id} as a notification event", async () => {
  await using rec = startRecorder();
  await using t = await startOutboxServer(pusherAt(rec.port), { outbox: FAST_RETRY });
  await t.login("alice", "Alice", "https://img.example/alice.png");
  await t.login("bob");
  await t.ok("alice", "POST", "/api/users/bob/follow");
  await rec.until(() => rec.events.some((e) => e.name === "notification"), "the notification event");
  const event = rec.events.find((e) => e.name === "notification")!;
  assert.equal(event.channel, "private-user-bob");
  const { notifications: [stored] } = await t.ok<Page>("bob", "GET", "/api/notifications");
  assert.deepEqual(event.data, stored);
  assert.deepEqual((event.data as NotificationJson).metadata, {
    actorId: "alice",
    actorName: "Alice",
    actorAvatar: "https://img.example/alice.png",
  });
});

Deno.test("the follow notification is pushed through OneSignal unless the followee turned push off", async () => {
  await using rec = startRecorder();
  const onesignal = {
    ONESIGNAL_APP_ID: "os-app",
    ONESIGNAL_REST_API_KEY: "os-key",
    ONESIGNAL_API_URL: rec.url,
  };
  await using t = await startOutboxServer({ ...onesignal, ...pusherAt(rec.port) }, { outbox: FAST_RETRY });
  await t.login("alice", "Alice", "https://img.example/alice.png");
  await t.login("bob");
  await t.login("carol");
  await t.ok("carol", "PUT", "/api/me/preferences", { enableAllPush: false });
  await t.ok("alice", "POST", "/api/users/carol/follow");
  await t.ok("alice", "POST", "/api/users/bob/follow");
  await rec.until(() => rec.notifications().length >= 1, "the push");
  await eventually(
    async () => (await Array.fromAsync(t.kv.list({ prefix: keys.outboxPending("push") }))).length === 0,
    "every push row drained",
  );
  const pushes = rec.notifications();
  assert.equal(pushes.length, 1, "carol gets no push");
  const body = pushes[0]!;
  assert.deepEqual(body.include_aliases, { external_id: ["bob"] });
  assert.deepEqual(body.headings, { en: "Alice started following you" });
  assert.deepEqual(body.contents, { en: "Alice started following you" });
  assert.equal(body.url, "/users/alice");
  assert.equal(body.chrome_web_icon, "https://img.example/alice.png");
  assert.deepEqual(body.data, { type: "notification", notificationId: "n1", kind: "follow" });
});

Deno.test("GET /api/users/:id/followers and /following page through users", async () => {
  await using t = await setup();
  const fans = ["f1", "f2", "f3", "f4", "f5"];
  await users(t, "star", ...fans);
  for (const f of fans) await expectStatus(await t.api(f, "POST", "/api/users/star/follow"), 200);
  type UsersPage = { users: { id: string; name: string }[]; nextCursor?: string };
  const first = await expectStatus<UsersPage>(
    await t.api("f1", "GET", "/api/users/star/followers?limit=2"),
    200,
  );
  assert.deepEqual(first.users.map((u) => u.id), ["f1", "f2"]);
  assert.equal(first.users[0]!.name, "F1");
  const rest = await expectStatus<UsersPage>(
    await t.api("f1", "GET", `/api/users/star/followers?limit=10&cursor=${first.nextCursor}`),
    200,
  );
  assert.deepEqual(rest.users.map((u) => u.id), ["f3", "f4", "f5"]);
  assert.equal(rest.nextCursor, undefined);
  const following = await expectStatus<UsersPage>(await t.api("f1", "GET", "/api/users/f3/following"), 200);
  assert.deepEqual(following.users.map((u) => u.id), ["star"]);
  assert.equal((await t.api("f1", "GET", "/api/users/nobody/followers")).status, 404);
  assert.equal((await t.api("f1", "GET", "/api/users/star/followers?limit=0")).status, 400);
});

Deno.test("GET /api/notifications pages newest first with before", async () => {
  await using t = await setup();
  const fans = ["f1", "f2", "f3", "f4", "f5"];
  await users(t, "star", ...fans);
  for (const f of fans) await expectStatus(await t.api(f, "POST", "/api/users/star/follow"), 200);
  const first = await notifications(t, "star", "?limit=2");
  assert.deepEqual(first.notifications.map((n) => n.title), [
    "F5 started following you",
    "F4 started following you",
  ]);
  assert.equal(first.hasMore, true);
  assert.equal(first.nextCursor, "n4");
  const second = await notifications(t, "star", `?limit=10&before=${first.nextCursor}`);
  assert.deepEqual(second.notifications.map((n) => n.id), ["n3", "n2", "n1"]);
  assert.equal(second.hasMore, false);
  assert.equal(second.unreadCount, 5);
  const bad = await t.api("star", "GET", "/api/notifications?before=42");
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /^before: /);
  assert.equal((await t.api("star", "GET", "/api/notifications?limit=101")).status, 400);
});

Deno.test("POST /api/notifications/read marks by ids or all, and the unread count follows", async () => {
  await using t = await setup();
  const fans = ["f1", "f2", "f3", "f4"];
  await users(t, "star", ...fans);
  for (const f of fans) await expectStatus(await t.api(f, "POST", "/api/users/star/follow"), 200);
  const unread = async () =>
    (await expectStatus<{ unreadCount: number }>(
      await t.api("star", "GET", "/api/notifications/unread-count"),
      200,
    ))
      .unreadCount;
  assert.equal(await unread(), 4);
  const byIds = await expectStatus<{ unreadCount: number }>(
    await t.api("star", "POST", "/api/notifications/read", { ids: ["n1", "n3", "n3", "n99"] }),
    200,
  );
  assert.equal(byIds.unreadCount, 2);
  const again = await expectStatus<{ unreadCount: number }>(
    await t.api("star", "POST", "/api/notifications/read", { ids: ["n1"] }),
    200,
  );
  assert.equal(again.unreadCount, 2, "marking a read notification again changes nothing");
  const page = await notifications(t, "star");
  assert.deepEqual(page.notifications.map((n) => [n.id, n.isRead]), [
    ["n4", false],
    ["n3", true],
    ["n2", false],
    ["n1", true],
  ]);
  const all = await expectStatus<{ unreadCount: number }>(
    await t.api("star", "POST", "/api/notifications/read", {}),
    200,
  );
  assert.equal(all.unreadCount, 0);
  assert.ok((await notifications(t, "star")).notifications.every((n) => n.isRead));
  await expectStatus(await t.api("f1", "DELETE", "/api/users/star/follow"), 200);
  await users(t, "f5");
  await expectStatus(await t.api("f5", "POST", "/api/users/star/follow"), 200);
  assert.equal(await unread(), 1, "a notification after mark-all is unread");
});

Deno.test("POST /api/notifications/read validates ids", async () => {
  await using t = await setup();
  const bad = await t.api("star", "POST", "/api/notifications/read", { ids: ["x1"] });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /^ids\.0: /);
  const many = Array.from({ length: 101 }, (_, i) => `n${i + 1}`);
  assert.equal((await t.api("star", "POST", "/api/notifications/read", { ids: many })).status, 400);
  assert.equal((await t.api("star", "POST", "/api/notifications/read", { ids: "n1" })).status, 400);
});

Deno.test("POST /api/users/:id/block is idempotent, refuses oneself and unknown users", async () => {
  await using t = await setup();
  await users(t, "alice", "bob");
  assert.equal((await t.api("alice", "POST", "/api/users/alice/block")).status, 400);
  assert.equal((await t.api("alice", "POST", "/api/users/nobody/block")).status, 404);
  assert.equal((await t.api("alice", "DELETE", "/api/users/alice/block")).status, 400);
  assert.equal((await t.api("alice", "DELETE", "/api/users/nobody/block")).status, 404);
  const first = await expectStatus(await t.api("alice", "POST", "/api/users/bob/block"), 200);
  assert.deepEqual(first, { success: true, changed: true, isBlocked: true });
  const again = await expectStatus(await t.api("alice", "POST", "/api/users/bob/block"), 200);
  assert.deepEqual(again, { success: true, changed: false, isBlocked: true });
  assert.equal((await profile(t, "alice", "bob")).isBlocked, true);
  assert.equal((await profile(t, "bob", "alice")).isBlocked, false, "isBlocked is the caller's own block");
  const lifted = await expectStatus(await t.api("alice", "DELETE", "/api/users/bob/block"), 200);
  assert.deepEqual(lifted, { success: true, changed: true, isBlocked: false });
  const liftedAgain = await expectStatus(await t.api("alice", "DELETE", "/api/users/bob/block"), 200);
  assert.deepEqual(liftedAgain, { success: true, changed: false, isBlocked: false });
});

Deno.test("blocking removes the follows both ways and refuses new ones both ways (403)", async () => {
  await using t = await setup();
  await users(t, "alice", "bob");
  await expectStatus(await t.api("alice", "POST", "/api/users/bob/follow"), 200);
  await expectStatus(await t.api("bob", "POST", "/api/users/alice/follow"), 200);
  await expectStatus(await t.api("alice", "POST", "/api/users/bob/block"), 200);
  const bob = await profile(t, "alice", "bob");
  assert.deepEqual([bob.followers, bob.following, bob.isFollowing, bob.followsYou], [0, 0, false, false]);
  const blocked = await t.api("bob", "POST", "/api/users/alice/follow");
  assert.equal(blocked.status, 403);
  assert.deepEqual(await blocked.json(), { error: "You cannot follow this user" });
  const blocker = await t.api("alice", "POST", "/api/users/bob/follow");
  assert.equal(blocker.status, 403);
  assert.deepEqual(await blocker.json(), { error: "Unblock this user to follow them" });
  await expectStatus(await t.api("alice", "DELETE", "/api/users/bob/block"), 200);
  assert.equal((await profile(t, "alice", "bob")).followers, 0, "unblocking restores no follow");
  await expectStatus(await t.api("bob", "POST", "/api/users/alice/follow"), 200);
});

Deno.test("a blocked user cannot message the blocker, and the blocker cannot message them (403)", async () => {
  await using t = await setup();
  await users(t, "alice", "bob", "carol");
  const { message } = await expectStatus<{ message: { roomId: string } }>(
    await send(t, "bob", { receiverId: "alice" }),
    200,
  );
  await expectStatus(await t.api("alice", "POST", "/api/users/bob/block"), 200);
  for (const body of [{ receiverId: "alice" }, { roomId: message.roomId }]) {
    const res = await send(t, "bob", body);
    assert.equal(res.status, 403, JSON.stringify(body));
    assert.deepEqual(await res.json(), { error: "You cannot message this user" });
  }
  for (const body of [{ receiverId: "bob" }, { roomId: message.roomId }]) {
    const res = await send(t, "alice", body);
    assert.equal(res.status, 403, JSON.stringify(body));
    assert.deepEqual(await res.json(), { error: "Unblock this user to message them" });
  }
  assert.equal((await t.api("bob", "POST", "/api/chat/start", { receiverId: "alice" })).status, 403);
  assert.equal((await t.api("alice", "POST", "/api/chat/start", { receiverId: "bob" })).status, 403);
  assert.equal((await send(t, "bob", { receiverId: "carol" })).status, 200, "others are not affected");
  const history = await expectStatus<{ messages: unknown[] }>(
    await t.api("alice", "GET", `/api/chat/messages?roomId=${message.roomId}`),
    200,
  );
  assert.equal(history.messages.length, 1, "the history stays readable");
  await expectStatus(await t.api("alice", "DELETE", "/api/users/bob/block"), 200);
  await expectStatus(await send(t, "bob", { receiverId: "alice" }), 200);
  await expectStatus(await send(t, "alice", { roomId: message.roomId }), 200);
});

Deno.test("a block does not affect group rooms", async () => {
  await using t = await setup();
  await users(t, "alice", "bob", "carol");
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("carol", "POST", "/api/chat/groups", { name: "Trio", memberIds: ["alice", "bob"] }),
    200,
  );
  await expectStatus(await t.api("alice", "POST", "/api/users/bob/block"), 200);
  await expectStatus(await send(t, "bob", { roomId }), 200);
  await expectStatus(await send(t, "alice", { roomId }), 200);
});
