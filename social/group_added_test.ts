import assert from "node:assert/strict";
import type { GroupAddedEvent } from "../outbox/outbox.ts";
import { CommitBatcher } from "../storage/commit_batcher.ts";
import { keys } from "../storage/keys.ts";
import type { NotificationHead } from "../storage/records.ts";
import { createSocialSink, notifyGroupAdded } from "./group_added.ts";
import { listNotifications } from "./notifications.ts";

const event = (userIds: string[], roomId = "g_1"): GroupAddedEvent => ({
  type: "group.added",
  roomId,
  roomName: "Hiking",
  actorId: "alice",
  userIds,
});

Deno.test("notifyGroupAdded() writes each user's notification once per source, however often it runs", async () => {
  using kv = await Deno.openKv(":memory:");
  const batcher = new CommitBatcher(kv);
  const deps = { kv, batcher, push: true };
  assert.equal(await notifyGroupAdded(deps, event(["bob", "carol"]), "room:g_1:1:0"), 2);
  assert.equal(await notifyGroupAdded(deps, event(["bob", "carol"]), "room:g_1:1:0"), 0, "a redelivery");
  const page = await listNotifications(kv, "bob", { limit: 10 });
  assert.deepEqual(page.notifications.map((n) => n.title), ["alice added you to Hiking"]);
  assert.equal(page.unreadCount, 1);
  // Its realtime and push rows were written once, with it.
  const rows = await Array.fromAsync(kv.list({ prefix: ["outbox"] }));
  assert.deepEqual(rows.map((r) => r.key.slice(1, 3)).sort(), [
    ["push", "user:bob"],
    ["push", "user:carol"],
    ["realtime", "user:bob"],
    ["realtime", "user:carol"],
  ]);
});

Deno.test("the social sink notifies the 199 members of a full group in commits that fit KV's limits", async () => {
  using kv = await Deno.openKv(":memory:");
  const batcher = new CommitBatcher(kv);
  const sink = createSocialSink({ kv, batcher, push: true });
  const userIds = Array.from({ length: 199 }, (_, i) => `member-${"x".repeat(100)}-${i}`);
  const batch = { stream: "room:g_1", order: 1, createdAt: 0, events: [event(userIds)], attempts: 0 };
  assert.deepEqual(await sink.deliver([batch]), { delivered: 1 });
  assert.deepEqual(await sink.deliver([batch]), { delivered: 1 }, "delivered again: nothing more written");
  const heads = await Array.fromAsync(kv.list<NotificationHead>({ prefix: ["notif_head"] }));
  assert.equal(heads.length, 199);
  assert.ok(heads.every((h) => h.value.lastSeq === 1));
  const pending = await kv.get<Deno.KvU64>(keys.outboxCount("realtime", "pending"));
  assert.equal(pending.value?.value, 199n, "the realtime rows were counted with their writes");
});
