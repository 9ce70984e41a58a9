import assert from "node:assert/strict";
import { keys } from "./keys.ts";

// A changed layout is a data migration: these pin every layout so a change is noticed.
Deno.test("keys builds the layouts stored data depends on", () => {
  assert.deepEqual(keys.room("r"), ["room", "r"]);
  assert.deepEqual(keys.message("r", 7), ["msg", "r", 7]);
  assert.deepEqual(keys.messages("r"), ["msg", "r"]);
  assert.deepEqual(keys.messageVersion("r", 7, 2), ["msg_version", "r", 7, 2]);
  assert.deepEqual(keys.clientMessage("r", "u", "c"), ["client_msg", "r", "u", "c"]);
  assert.deepEqual(keys.userRoom("u", false, 5, "r"), ["user_rooms", "u", false, 5, "r"]);
  assert.deepEqual(keys.userRooms("u", true), ["user_rooms", "u", true]);
  assert.deepEqual(keys.unreadTotal("u"), ["unread_total", "u"]);
  assert.deepEqual(keys.user("u"), ["user", "u"]);
  assert.deepEqual(keys.presence("u"), ["presence", "u"]);
  assert.deepEqual(keys.rateLog("send", "u"), ["rate", "send", "u"]);
  assert.deepEqual(keys.rateLog("write", "u"), ["rate", "write", "u"]);
  assert.deepEqual(keys.commitReceipt("r", "a1"), ["commit", "r", "a1"]);
  assert.deepEqual(keys.blockedEpoch("u"), ["blocked_epoch", "u"]);
  assert.deepEqual(keys.searchIndexed("r", 7), ["search_indexed", "r", 7]);
  assert.deepEqual(keys.setting("s"), ["setting", "s"]);
});

Deno.test("keys.message() orders rows by numeric seq", async () => {
  using kv = await Deno.openKv(":memory:");
  for (const seq of [10, 2, 1]) await kv.set(keys.message("r", seq), seq);
  const seqs: unknown[] = [];
  for await (const e of kv.list({ prefix: keys.messages("r") })) seqs.push(e.value);
  assert.deepEqual(seqs, [1, 2, 10]);
});

Deno.test("keys builds the social layouts: follows both ways, counters, blocks, notifications", () => {
  assert.deepEqual(keys.follow("a", "b"), ["follow", "a", "b"]);
  assert.deepEqual(keys.following("a"), ["follow", "a"]);
  assert.deepEqual(keys.follower("b", "a"), ["follower", "b", "a"]);
  assert.deepEqual(keys.followers("b"), ["follower", "b"]);
  assert.deepEqual(keys.followersCount("u"), ["follow_count", "u", "followers"]);
  assert.deepEqual(keys.followingCount("u"), ["follow_count", "u", "following"]);
  assert.deepEqual(keys.followNotified("a", "b"), ["follow_notified", "a", "b"]);
  assert.deepEqual(keys.block("a", "b"), ["block", "a", "b"]);
  assert.deepEqual(keys.blocks("a"), ["block", "a"]);
  assert.deepEqual(keys.notificationHead("u"), ["notif_head", "u"]);
  assert.deepEqual(keys.notification("u", 3), ["notif", "u", 3]);
  assert.deepEqual(keys.notifications("u"), ["notif", "u"]);
  assert.deepEqual(keys.preferences("u"), ["prefs", "u"]);
  assert.deepEqual(keys.notificationSource("u", "s"), ["notif_source", "u", "s"]);
  assert.deepEqual(keys.groupAddedLog("u", "a"), ["notif_cap", "group.added", "u", "a"]);
});

Deno.test("keys builds the outbox counter and search-limit layouts", () => {
  assert.deepEqual(keys.outboxCount("push", "dead"), ["outbox_count", "push", "dead"]);
  assert.deepEqual(keys.searchLog("u"), ["rate", "search", "u"]);
});

Deno.test("keys.notification() lists a user's notifications newest first in reverse", async () => {
  using kv = await Deno.openKv(":memory:");
  for (const seq of [2, 10, 1]) await kv.set(keys.notification("u", seq), seq);
  await kv.set(keys.notification("u2", 5), 5);
  const seqs: unknown[] = [];
  for await (const e of kv.list({ prefix: keys.notifications("u") }, { reverse: true })) seqs.push(e.value);
  assert.deepEqual(seqs, [10, 2, 1]);
});
