/**
 * `GET /api/admin/stats` and `/api/admin/outbox`: counters written in the room
 * commits, exact when two runtimes on one KV file send at once (compared with
 * the messages and rooms stored), and the outbox per sink with its oldest age.
 */
import assert from "node:assert/strict";
import { pruneAgeBuckets } from "../outbox/operations.ts";
import { keys } from "../storage/keys.ts";
import type { RoomState, StoredMessage } from "../storage/records.ts";
import { expectStatus, setup } from "./helpers.ts";
import { startRuntimes } from "./support/two_runtimes.ts";

const ADMIN_KEY = "admin-key-for-stats-tests";
const admin = { headers: { "X-Admin-Key": ADMIN_KEY } };

interface Stats {
  messages: { perHour: { at: string; count: number; direct: number; group: number }[]; total: number };
  activeUsers: { today: number; last7Days: number; perDay: { day: string; count: number }[] };
  rooms: { direct: number; group: number };
  outbox: Record<string, { pending: number; retrying: number; dead: number; oldestAgeMs: number | null }>;
}

Deno.test("GET /api/admin/stats counts exactly what two runtimes on one KV file stored under concurrent sends", async () => {
  await using group = await startRuntimes(2, { ADMIN_API_KEY: ADMIN_KEY });
  const [a, b] = group.runtimes as [typeof group.runtimes[0], typeof group.runtimes[0]];
  const users = ["alice", "bob", "carol", "dave", "erin"];
  for (const user of users) await a.api(user, "GET", "/api/me");
  const { roomId: team } = await expectStatus<{ roomId: string }>(
    await a.api("alice", "POST", "/api/chat/groups", { name: "Team", memberIds: users.slice(1) }),
    200,
  );
  // Every user sends through both runtimes at once: to the group, and to a direct room of their own.
  const sends = users.flatMap((user, u) =>
    Array.from({ length: 8 }, (_, i) => {
      const runtime = i % 2 === 0 ? a : b;
      const body = i % 3 === 0
        ? { receiverId: users[(u + 1) % users.length], content: `${user} direct ${i}` }
        : { roomId: team, content: `${user} group ${i}` };
      return runtime.api(user, "POST", "/api/chat/send", body);
    })
  );
  for (const res of await Promise.all(sends)) await expectStatus(res, 200);

  const stored = { direct: 0, group: 0, directRooms: 0, groupRooms: 0 };
  const kv = a.kv;
  for await (const { value } of kv.list<RoomState>({ prefix: ["room"] })) {
    if (value.type === "DIRECT") stored.directRooms++;
    else stored.groupRooms++;
    for await (const _ of kv.list<StoredMessage>({ prefix: keys.messages(value.id) })) {
      stored[value.type === "DIRECT" ? "direct" : "group"]++;
    }
  }
  assert.equal(stored.direct + stored.group, 40);

  for (const runtime of [a, b]) {
    const res = await runtime.runtime.app.request("http://localhost/api/admin/stats?days=1", admin);
    const stats = await expectStatus<Stats>(res, 200);
    assert.equal(stats.messages.total, 40);
    const hours = stats.messages.perHour;
    assert.equal(hours.length, 24);
    assert.equal(hours.reduce((n, h) => n + h.direct, 0), stored.direct);
    assert.equal(hours.reduce((n, h) => n + h.group, 0), stored.group);
    assert.deepEqual(stats.rooms, { direct: stored.directRooms, group: stored.groupRooms });
    assert.equal(stats.activeUsers.today, users.length);
    assert.equal(stats.activeUsers.last7Days, users.length);
    assert.deepEqual(stats.activeUsers.perDay.map((d) => d.count), [users.length]);
  }
});

Deno.test("GET /api/admin/stats and /api/admin/outbox need the admin key, and days is 1-31", async () => {
  await using t = await setup({ ADMIN_API_KEY: ADMIN_KEY });
  for (const path of ["/api/admin/stats", "/api/admin/outbox"]) {
    assert.deepEqual(await expectStatus(await t.request(path), 401), { error: "Unauthorized" });
    const wrong = await t.request(path, { headers: { "X-Admin-Key": "not-the-admin-key-at-all" } });
    await expectStatus(wrong, 401);
  }
  for (const days of ["0", "32", "x"]) {
    const res = await t.request(`/api/admin/stats?days=${days}`, admin);
    const body = await expectStatus<{ error: string }>(res, 400);
    assert.match(body.error, /^days: /);
  }
});

Deno.test("GET /api/admin/outbox shows a sink's backlog and the age of its oldest batch, then none once delivered", async () => {
  await using t = await setup({ ADMIN_API_KEY: ADMIN_KEY });
  await t.api("bob", "GET", "/api/me");
  // The watcher is not started: commits stay pending, as when the realtime service is down.
  for (const n of [1, 2, 3]) {
    await expectStatus(
      await t.api("alice", "POST", "/api/chat/send", { receiverId: "bob", content: `m${n}` }),
      200,
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
  const before = await expectStatus<{ outbox: Stats["outbox"] }>(
    await t.request("/api/admin/outbox", admin),
    200,
  );
  assert.deepEqual({ ...before.outbox.realtime, oldestAgeMs: undefined }, {
    pending: 3,
    retrying: 0,
    dead: 0,
    oldestAgeMs: undefined,
  });
  assert.ok(before.outbox.realtime!.oldestAgeMs! >= 20, `oldest ${before.outbox.realtime!.oldestAgeMs} ms`);
  assert.deepEqual(before.outbox.push, { pending: 0, retrying: 0, dead: 0, oldestAgeMs: null });

  t.runtime.start({ port: 0 });
  await t.runtime.watcher.sweep();
  await t.runtime.watcher.settled();
  const after = await expectStatus<{ outbox: Stats["outbox"] }>(
    await t.request("/api/admin/outbox", admin),
    200,
  );
  assert.deepEqual(after.outbox.realtime, { pending: 0, retrying: 0, dead: 0, oldestAgeMs: null });
  // The age buckets went back to zero; pruning drops them.
  const buckets = await Array.fromAsync(t.kv.list<Deno.KvU64>({ prefix: keys.outboxAges("realtime") }));
  assert.ok(buckets.length > 0 && buckets.every((b) => b.value.value === 0n));
  assert.equal(await pruneAgeBuckets(t.kv), buckets.length);
  assert.deepEqual(await Array.fromAsync(t.kv.list({ prefix: keys.outboxAges("realtime") })), []);
});

Deno.test("GET /metrics shows the operator counters from KV, the same through every runtime", async () => {
  await using group = await startRuntimes(2, { ADMIN_API_KEY: ADMIN_KEY });
  const [a, b] = group.runtimes as [typeof group.runtimes[0], typeof group.runtimes[0]];
  await a.api("bob", "GET", "/api/me");
  await expectStatus(
    await a.api("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "one" }),
    200,
  );
  await expectStatus(
    await b.api("bob", "POST", "/api/chat/send", { receiverId: "alice", content: "two" }),
    200,
  );
  for (const runtime of [a, b]) {
    const text = await (await runtime.runtime.app.request("http://localhost/metrics")).text();
    assert.match(text, /^# TYPE chat_messages_total counter$/m);
    assert.match(text, /^chat_messages_total\{room_type="direct"\} 2$/m);
    assert.match(text, /^chat_messages_total\{room_type="group"\} 0$/m);
    assert.match(text, /^chat_rooms_created_total\{room_type="direct"\} 1$/m);
    assert.match(text, /^chat_active_users\{window="today"\} 2$/m);
    assert.match(text, /^chat_active_users\{window="7d"\} 2$/m);
    assert.match(text, /^chat_push_outcomes_total\{outcome="delivered"\} 0$/m);
    assert.match(text, /^outbox_oldest_age_seconds\{sink="realtime"\} [\d.]+$/m);
    // Every sample line is `name{labels} value`, each family declared once.
    const samples = text.split("\n").filter((l) => l && !l.startsWith("#"));
    for (const line of samples) assert.match(line, /^[a-z_]+(\{[^}]*\})? -?[\d.e+-]+$/, line);
    const types = text.split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]);
    assert.equal(new Set(types).size, types.length, "a metric family declared twice");
  }
});
