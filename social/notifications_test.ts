import assert from "node:assert/strict";
import fc from "fast-check";
import { CommitBatcher } from "../storage/commit_batcher.ts";
import { keys } from "../storage/keys.ts";
import { putPreferences } from "../storage/preferences.ts";
import type { NotificationHead, StoredNotification } from "../storage/records.ts";
import { emptyUnit } from "../storage/commit_retry.ts";
import {
  appendStep,
  EMPTY_HEAD,
  isUnread,
  listNotifications,
  markNotificationsRead,
  markReadStep,
  notificationId,
  notificationView,
  NotificationWriter,
  notify,
  parseNotificationId,
} from "./notifications.ts";

const NOW = Date.UTC(2026, 10, 25, 12);
const INPUT = { type: "follow", title: "Alice started following you" };

Deno.test("notificationId() and parseNotificationId() round-trip and refuse other strings", () => {
  assert.equal(notificationId(7), "n7");
  assert.equal(parseNotificationId("n7"), 7);
  for (const bad of ["7", "n0", "n07", "n-1", "x7", "n1.5", "n", "n1234567890123456"]) {
    assert.equal(parseNotificationId(bad), null, bad);
  }
});

Deno.test("appendStep() gives the next seq and counts the notification unread", () => {
  const { head, row } = appendStep({ lastSeq: 4, unread: 1, readAllSeq: 2 }, INPUT, NOW);
  assert.deepEqual(head, { lastSeq: 5, unread: 2, readAllSeq: 2 });
  assert.deepEqual(row, {
    id: "n5",
    seq: 5,
    type: "follow",
    title: "Alice started following you",
    body: "",
    link: null,
    metadata: {},
    isRead: false,
    createdAt: NOW,
  });
});

Deno.test("appendStep() cuts a title longer than 200 characters", () => {
  const { row } = appendStep(EMPTY_HEAD, { type: "x", title: "é".repeat(300) }, NOW);
  assert.equal([...row.title].length, 200);
});

Deno.test("markReadStep() marks only rows that are still unread, each once", () => {
  const head: NotificationHead = { lastSeq: 4, unread: 2, readAllSeq: 2 };
  const rows = [row(1, false), row(3, true), row(4, false), row(4, false)];
  const next = markReadStep(head, rows);
  assert.deepEqual(next.rows.map((r) => [r.seq, r.isRead]), [[4, true]]);
  assert.equal(next.head.unread, 1);
});

Deno.test("markReadStep('all') moves the read-all mark and zeroes the count without touching rows", () => {
  const next = markReadStep({ lastSeq: 9, unread: 3, readAllSeq: 2 }, "all");
  assert.deepEqual(next, { head: { lastSeq: 9, unread: 0, readAllSeq: 9 }, rows: [] });
  const same = { lastSeq: 9, unread: 0, readAllSeq: 9 };
  assert.equal(markReadStep(same, "all").head, same);
});

Deno.test("notificationView() shows rows at or below the read-all mark as read", () => {
  const head = { lastSeq: 3, unread: 1, readAllSeq: 2 };
  assert.equal(notificationView(row(2, false), head).isRead, true);
  assert.equal(notificationView(row(3, false), head).isRead, false);
  assert.equal(notificationView(row(3, true), head).createdAt, new Date(NOW).toISOString());
});

Deno.test("appendStep() and markReadStep() keep unread equal to the unread rows (property)", () => {
  const op = fc.oneof(
    fc.constant({ kind: "append" as const }),
    fc.constant({ kind: "all" as const }),
    fc.record({
      kind: fc.constant("ids" as const),
      seqs: fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 6 }),
    }),
  );
  fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
    let head = EMPTY_HEAD as NotificationHead;
    const rows = new Map<number, StoredNotification>();
    for (const o of ops) {
      if (o.kind === "append") {
        const next = appendStep(head, INPUT, NOW);
        head = next.head;
        rows.set(next.row.seq, next.row);
      } else {
        const picked = o.kind === "all" ? "all" : o.seqs.flatMap((s) => rows.get(s) ?? []);
        const next = markReadStep(head, picked);
        head = next.head;
        for (const r of next.rows) rows.set(r.seq, r);
      }
      assert.equal(head.unread, [...rows.values()].filter((r) => isUnread(head, r)).length);
    }
  }));
});

Deno.test("notify() stores the row, counts it unread and writes the realtime outbox row in one commit", async () => {
  await using t = await kvDeps(false);
  const view = await notify(t.deps, "bob", {
    ...INPUT,
    link: "/users/alice",
    metadata: { actorId: "alice" },
  });
  assert.equal(view.id, "n1");
  const head = await t.kv.get(keys.notificationHead("bob"));
  assert.deepEqual(head.value, { lastSeq: 1, unread: 1, readAllSeq: 0 });
  const realtime = await t.kv.get<{ events: unknown[]; stream: string }>(
    keys.outbox("realtime", "user:bob", 1),
  );
  assert.equal(realtime.versionstamp, head.versionstamp, "same commit");
  assert.deepEqual(realtime.value?.events, [{ type: "notification", userId: "bob", notification: view }]);
  assert.equal(
    (await t.kv.get(keys.outbox("push", "user:bob", 1))).value,
    null,
    "push is off for the server",
  );
});

Deno.test("notify() writes a push row only when the server and the user allow push", async () => {
  await using t = await kvDeps(true);
  await putPreferences(t.kv, "bob", { oneSignalPlayerId: "sub-bob" });
  await putPreferences(t.kv, "carol", { enableAllPush: false, enableAllInApp: false });
  await notify(t.deps, "bob", INPUT);
  await notify(t.deps, "carol", INPUT);
  const push = await t.kv.get<{ events: Record<string, unknown>[] }>(keys.outbox("push", "user:bob", 1));
  assert.equal(push.value?.events[0]?.type, "push.notification");
  assert.equal(push.value?.events[0]?.subscriptionId, "sub-bob");
  assert.equal(push.value?.events[0]?.eventId, "notification:bob:1");
  assert.equal((await t.kv.get(keys.outbox("push", "user:carol", 1))).value, null);
  assert.equal((await t.kv.get(keys.outbox("realtime", "user:carol", 1))).value, null, "in-app off");
  assert.equal((await listNotifications(t.kv, "carol", { limit: 10 })).unreadCount, 1, "still stored");
});

Deno.test("NotificationWriter's commit fails when the feed changed after it was opened", async () => {
  await using t = await kvDeps(false);
  const stale = await NotificationWriter.open(t.kv, ["bob"], { push: false });
  await notify(t.deps, "bob", INPUT);
  stale.add("bob", INPUT, NOW);
  const unit = emptyUnit();
  stale.writeTo(unit);
  assert.equal((await t.deps.batcher.commit(unit)).ok, false);
  assert.equal((await listNotifications(t.kv, "bob", { limit: 10 })).notifications.length, 1);
});

Deno.test("NotificationWriter adds several notifications for one user under one head check", async () => {
  await using t = await kvDeps(false);
  const writer = await NotificationWriter.open(t.kv, ["bob", "carol"], { push: false });
  writer.add("bob", INPUT, NOW);
  writer.add("bob", { type: "group.added", title: "Alice added you to Hiking" }, NOW);
  const unit = emptyUnit();
  writer.writeTo(unit);
  assert.equal(unit.checks.length, 1, "only the head that changed is checked");
  assert.equal((await t.deps.batcher.commit(unit)).ok, true);
  const page = await listNotifications(t.kv, "bob", { limit: 10 });
  assert.deepEqual(page.notifications.map((n) => n.id), ["n2", "n1"]);
  assert.equal(page.unreadCount, 2);
});

Deno.test("listNotifications() pages newest first with before", async () => {
  await using t = await kvDeps(false);
  for (let i = 0; i < 5; i++) await notify(t.deps, "bob", INPUT);
  const first = await listNotifications(t.kv, "bob", { limit: 2 });
  assert.deepEqual(first.notifications.map((n) => n.id), ["n5", "n4"]);
  assert.equal(first.hasMore, true);
  const second = await listNotifications(t.kv, "bob", { limit: 3, before: first.nextCursor });
  assert.deepEqual(second.notifications.map((n) => n.id), ["n3", "n2", "n1"]);
  assert.equal(second.hasMore, false);
  assert.equal(second.nextCursor, undefined);
});

Deno.test("markNotificationsRead() is exact under concurrent marks and notifications", async () => {
  await using t = await kvDeps(false);
  for (let i = 0; i < 6; i++) await notify(t.deps, "bob", INPUT);
  await Promise.all([
    markNotificationsRead(t.deps, "bob", ["n1", "n2"]),
    markNotificationsRead(t.deps, "bob", ["n2", "n3"]),
    notify(t.deps, "bob", INPUT),
    markNotificationsRead(t.deps, "bob", ["n3", "n7", "n99"]),
  ]);
  const page = await listNotifications(t.kv, "bob", { limit: 50 });
  assert.equal(page.unreadCount, page.notifications.filter((n) => !n.isRead).length);
  assert.equal(await markNotificationsRead(t.deps, "bob"), 0);
});

function row(seq: number, isRead: boolean): StoredNotification {
  return { ...appendStep({ lastSeq: seq - 1, unread: 0, readAllSeq: 0 }, INPUT, NOW).row, isRead };
}

async function kvDeps(push: boolean) {
  const kv = await Deno.openKv(":memory:");
  const batcher = new CommitBatcher(kv);
  return {
    kv,
    deps: { kv, batcher, push },
    async [Symbol.asyncDispose]() {
      await batcher.drain();
      kv.close();
    },
  };
}
