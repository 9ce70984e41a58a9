import assert from "node:assert/strict";
import { keys } from "../storage/keys.ts";
import { MAX_MUTED_ROOMS } from "../limits.ts";
import { expectStatus, setup } from "./helpers.ts";

const DEFAULTS = { enableAllPush: true, enableAllInApp: true, oneSignalPlayerId: null, mutedRoomIds: [] };

Deno.test("every /api/me route answers 401 without a token", async () => {
  await using t = await setup();
  for (
    const [method, path] of [["GET", "/api/me"], ["GET", "/api/me/preferences"], [
      "PUT",
      "/api/me/preferences",
    ], [
      "GET",
      "/api/me/blocked",
    ]]
  ) {
    const res = await t.request(path!, { method });
    assert.equal(res.status, 401, `${method} ${path}`);
    assert.deepEqual(await res.json(), { error: "Unauthorized" });
  }
});

Deno.test("GET /api/me returns the caller with preferences, counts and unread totals", async () => {
  await using t = await setup();
  await t.login("alice", "Alice");
  await t.login("bob");
  await t.login("carol");
  await expectStatus(await t.api("bob", "POST", "/api/users/alice/follow"), 200);
  await expectStatus(await t.api("alice", "POST", "/api/users/carol/follow"), 200);
  await expectStatus(await t.api("bob", "POST", "/api/users/carol/follow"), 200);
  await expectStatus(
    await t.api("bob", "POST", "/api/chat/send", { receiverId: "alice", content: "hi" }),
    200,
  );
  await expectStatus(
    await t.api("carol", "POST", "/api/chat/send", { receiverId: "alice", content: "yo" }),
    200,
  );
  const me = await expectStatus(await t.api("alice", "GET", "/api/me"), 200);
  assert.deepEqual(me, {
    success: true,
    id: "alice",
    name: "Alice",
    avatar: null,
    online: false,
    lastSeenAt: null,
    followers: 1,
    following: 1,
    preferences: DEFAULTS,
    unreadNotifications: 1,
    totalUnread: 2,
  });
});

Deno.test("GET /api/me/preferences gives the defaults to a user who never set them", async () => {
  await using t = await setup();
  const prefs = await expectStatus(await t.api("alice", "GET", "/api/me/preferences"), 200);
  assert.deepEqual(prefs, { success: true, ...DEFAULTS });
});

Deno.test("PUT /api/me/preferences changes only the fields given and round-trips", async () => {
  await using t = await setup();
  const first = await expectStatus(
    await t.api("alice", "PUT", "/api/me/preferences", {
      enableAllPush: false,
      mutedRoomIds: ["g_1", "g_2", "g_1"],
    }),
    200,
  );
  assert.deepEqual(first, {
    success: true,
    enableAllPush: false,
    enableAllInApp: true,
    oneSignalPlayerId: null,
    mutedRoomIds: ["g_1", "g_2"],
  });
  await expectStatus(
    await t.api("alice", "PUT", "/api/me/preferences", {
      oneSignalPlayerId: "8f1c2d3e-0000-4000-8000-123456789abc",
      enableAllInApp: false,
    }),
    200,
  );
  const read = await expectStatus(await t.api("alice", "GET", "/api/me/preferences"), 200);
  assert.deepEqual(read, {
    success: true,
    enableAllPush: false,
    enableAllInApp: false,
    oneSignalPlayerId: "8f1c2d3e-0000-4000-8000-123456789abc",
    mutedRoomIds: ["g_1", "g_2"],
  });
  const cleared = await expectStatus<Record<string, unknown>>(
    await t.api("alice", "PUT", "/api/me/preferences", { oneSignalPlayerId: null, mutedRoomIds: [] }),
    200,
  );
  assert.equal(cleared.oneSignalPlayerId, null);
  assert.deepEqual(cleared.mutedRoomIds, []);
  assert.equal(cleared.enableAllPush, false, "left out, so kept");
  const me = await expectStatus<{ preferences: unknown }>(await t.api("alice", "GET", "/api/me"), 200);
  assert.deepEqual(me.preferences, { ...DEFAULTS, enableAllPush: false, enableAllInApp: false });
});

Deno.test("PUT /api/me/preferences validates every field (400)", async () => {
  await using t = await setup();
  const cases: [unknown, RegExp][] = [
    [{ enableAllPush: "yes" }, /^enableAllPush: /],
    [{ enableAllInApp: 1 }, /^enableAllInApp: /],
    [{ mutedRoomIds: "g_1" }, /^mutedRoomIds: /],
    [{ mutedRoomIds: ["ok", "not a room id"] }, /^mutedRoomIds\.1: /],
    [{ mutedRoomIds: Array.from({ length: MAX_MUTED_ROOMS + 1 }, (_, i) => `g_${i}`) }, /^mutedRoomIds: /],
    [{ oneSignalPlayerId: "" }, /^oneSignalPlayerId: /],
    [{ oneSignalPlayerId: "x".repeat(129) }, /^oneSignalPlayerId: /],
    [{ oneSignalPlayerId: "has spaces" }, /^oneSignalPlayerId: /],
    [{ oneSignalPlayerId: 42 }, /^oneSignalPlayerId: /],
    [{ enableAllPsh: false }, /enableAllPsh/],
    [[], /^body: |: /],
  ];
  for (const [body, error] of cases) {
    const res = await t.api("alice", "PUT", "/api/me/preferences", body);
    assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
    assert.match((await res.json()).error, error, JSON.stringify(body).slice(0, 80));
  }
  const prefs = await expectStatus(await t.api("alice", "GET", "/api/me/preferences"), 200);
  assert.deepEqual(prefs, { success: true, ...DEFAULTS }, "nothing was stored");
});

Deno.test("enableAllInApp false stops the realtime notification but the notification is still stored", async () => {
  await using t = await setup();
  await t.login("alice");
  await expectStatus(await t.api("bob", "PUT", "/api/me/preferences", { enableAllInApp: false }), 200);
  await expectStatus(await t.api("alice", "POST", "/api/users/bob/follow"), 200);
  assert.equal((await t.kv.get(keys.outbox("realtime", "user:bob", 1))).value, null);
  const page = await expectStatus<{ notifications: unknown[]; unreadCount: number }>(
    await t.api("bob", "GET", "/api/notifications"),
    200,
  );
  assert.equal(page.notifications.length, 1);
  assert.equal(page.unreadCount, 1);
});

Deno.test("GET /api/me/blocked lists whom the caller blocked, in pages", async () => {
  await using t = await setup();
  for (const id of ["bob", "carol", "dave"]) {
    await t.login(id);
    await expectStatus(await t.api("alice", "POST", `/api/users/${id}/block`), 200);
  }
  type UsersPage = { users: { id: string }[]; nextCursor?: string };
  const first = await expectStatus<UsersPage>(await t.api("alice", "GET", "/api/me/blocked?limit=2"), 200);
  assert.deepEqual(first.users.map((u) => u.id), ["bob", "carol"]);
  const rest = await expectStatus<UsersPage>(
    await t.api("alice", "GET", `/api/me/blocked?cursor=${first.nextCursor}`),
    200,
  );
  assert.deepEqual(rest.users.map((u) => u.id), ["dave"]);
  assert.equal(rest.nextCursor, undefined);
});
