import assert from "node:assert/strict";
import { parseKey } from "./key_parsers.ts";
import { keys } from "./keys.ts";

/**
 * Every layout in `keys`, built with sample arguments. A changed layout is a
 * data migration: this table pins each one so a change is noticed.
 */
const LAYOUTS: { [K in keyof typeof keys]: [built: Deno.KvKey, layout: Deno.KvKey][] } = {
  room: [[keys.room("r"), ["room", "r"]]],
  message: [[keys.message("r", 7), ["msg", "r", 7]]],
  messages: [[keys.messages("r"), ["msg", "r"]]],
  messageVersion: [[keys.messageVersion("r", 7, 2), ["msg_version", "r", 7, 2]]],
  messageVersions: [[keys.messageVersions("r", 7), ["msg_version", "r", 7]]],
  searchEntry: [[keys.searchEntry("r", "hel", 1000, 7), ["search", "r", "hel", 1000, 7]]],
  searchEntries: [[keys.searchEntries("r", "hel"), ["search", "r", "hel"]]],
  searchMark: [[keys.searchMark("r"), ["search_mark", "r"]]],
  searchTodo: [[keys.searchTodo("r", 7), ["search_todo", "r", 7]]],
  searchTodos: [[keys.searchTodos("r"), ["search_todo", "r"]]],
  searchIndexed: [[keys.searchIndexed("r", 7), ["search_indexed", "r", 7]]],
  clientMessage: [[keys.clientMessage("r", "u", "c"), ["client_msg", "r", "u", "c"]]],
  commitReceipt: [[keys.commitReceipt("r", "a1"), ["commit", "r", "a1"]]],
  userRoom: [[keys.userRoom("u", false, 5, "r"), ["user_rooms", "u", false, 5, "r"]]],
  userRooms: [[keys.userRooms("u", true), ["user_rooms", "u", true]]],
  unreadTotal: [[keys.unreadTotal("u"), ["unread_total", "u"]]],
  user: [[keys.user("u"), ["user", "u"]]],
  presence: [[keys.presence("u"), ["presence", "u"]]],
  rateLog: [[keys.rateLog("send", "u"), ["rate", "send", "u"]]],
  setting: [[keys.setting("s"), ["setting", "s"]]],
  outbox: [[keys.outbox("realtime", "room:r", 3), ["outbox", "realtime", "room:r", 3]]],
  outboxPending: [
    [keys.outboxPending("push", "user:u"), ["outbox", "push", "user:u"]],
    [keys.outboxPending("push"), ["outbox", "push"]],
    [keys.outboxPending(), ["outbox"]],
  ],
  outboxLease: [[keys.outboxLease("realtime", "room:r"), ["outbox_lease", "realtime", "room:r"]]],
  gatewayPeer: [[keys.gatewayPeer("g1"), ["gateway_peer", "g1"]]],
  gatewayPeers: [[keys.gatewayPeers(), ["gateway_peer"]]],
  outboxOwner: [[keys.outboxOwner("w1"), ["outbox_owner", "w1"]]],
  outboxDead: [[keys.outboxDead("social", "room:r", 3), ["outbox_dead", "social", "room:r", 3]]],
  outboxDeadAll: [[keys.outboxDeadAll("push"), ["outbox_dead", "push"]], [keys.outboxDeadAll(), [
    "outbox_dead",
  ]]],
  outboxCount: [[keys.outboxCount("push", "dead"), ["outbox_count", "push", "dead"]]],
  outboxAge: [[keys.outboxAge("push", 1000), ["outbox_age", "push", 1000]]],
  outboxAges: [[keys.outboxAges("push"), ["outbox_age", "push"]]],
  outboxLostWake: [[keys.outboxLostWake("w"), ["outbox_lost_wake", "w"]]],
  outboxLostWakes: [[keys.outboxLostWakes(), ["outbox_lost_wake"]]],
  pushOutcome: [[keys.pushOutcome("e1", "u"), ["push_outcome", "e1", "u"]]],
  statsMessages: [[keys.statsMessages(490_000, "GROUP"), ["stats_msg", 490_000, "GROUP"]]],
  statsMessagesAll: [[keys.statsMessagesAll(), ["stats_msg"]]],
  statsTotal: [[keys.statsTotal("rooms", "DIRECT"), ["stats_total", "rooms", "DIRECT"]]],
  statsActive: [[keys.statsActive(20_400), ["stats_active", 20_400]]],
  statsActiveAll: [[keys.statsActiveAll(), ["stats_active"]]],
  statsLastActive: [[keys.statsLastActive(20_400), ["stats_last_active", 20_400]]],
  statsLastActiveAll: [[keys.statsLastActiveAll(), ["stats_last_active"]]],
  statsUserDay: [[keys.statsUserDay("u"), ["stats_user_day", "u"]]],
  statsPush: [[keys.statsPush(490_000, "failed"), ["stats_push", 490_000, "failed"]]],
  statsPushAll: [[keys.statsPushAll(), ["stats_push"]]],
  preferences: [[keys.preferences("u"), ["prefs", "u"]]],
  follow: [[keys.follow("a", "b"), ["follow", "a", "b"]]],
  following: [[keys.following("a"), ["follow", "a"]]],
  follower: [[keys.follower("b", "a"), ["follower", "b", "a"]]],
  followers: [[keys.followers("b"), ["follower", "b"]]],
  followersCount: [[keys.followersCount("u"), ["follow_count", "u", "followers"]]],
  followingCount: [[keys.followingCount("u"), ["follow_count", "u", "following"]]],
  followNotified: [[keys.followNotified("a", "b"), ["follow_notified", "a", "b"]]],
  block: [[keys.block("a", "b"), ["block", "a", "b"]]],
  blocks: [[keys.blocks("a"), ["block", "a"]]],
  blockedEpoch: [[keys.blockedEpoch("u"), ["blocked_epoch", "u"]]],
  notificationHead: [[keys.notificationHead("u"), ["notif_head", "u"]]],
  notification: [[keys.notification("u", 3), ["notif", "u", 3]]],
  notifications: [[keys.notifications("u"), ["notif", "u"]]],
  notificationSource: [[keys.notificationSource("u", "s"), ["notif_source", "u", "s"]]],
  groupAddedLog: [[keys.groupAddedLog("u", "a"), ["notif_cap", "group.added", "u", "a"]]],
  searchLog: [[keys.searchLog("u"), ["rate", "search", "u"]]],
  upload: [[keys.upload("up"), ["upload", "up"]]],
  uploadChunk: [[keys.uploadChunk("up", "p", 3), ["upload_chunk", "up", "p", 3]]],
  uploadChunks: [
    [keys.uploadChunks("up"), ["upload_chunk", "up"]],
    [keys.uploadChunks("up", "p"), ["upload_chunk", "up", "p"]],
  ],
  uploadSweep: [[keys.uploadSweep(1000, "up"), ["upload_sweep", 1000, "up"]]],
  uploadSweeps: [[keys.uploadSweeps(), ["upload_sweep"]]],
};

Deno.test("keys builds every layout stored data depends on", () => {
  assert.deepEqual(Object.keys(LAYOUTS).sort(), Object.keys(keys).sort(), "every builder is pinned here");
  for (const [name, cases] of Object.entries(LAYOUTS)) {
    for (const [built, layout] of cases) assert.deepEqual(built, layout, name);
  }
});

Deno.test("keys' prefixes are prefixes of their rows' keys", () => {
  const pairs: [Deno.KvKey, Deno.KvKey][] = [
    [keys.messages("r"), keys.message("r", 1)],
    [keys.messageVersions("r", 1), keys.messageVersion("r", 1, 0)],
    [keys.searchEntries("r", "t"), keys.searchEntry("r", "t", 1, 1)],
    [keys.searchTodos("r"), keys.searchTodo("r", 1)],
    [keys.userRooms("u", false), keys.userRoom("u", false, 1, "r")],
    [keys.outboxPending("realtime", "s"), keys.outbox("realtime", "s", 1)],
    [keys.outboxPending("realtime"), keys.outbox("realtime", "s", 1)],
    [keys.outboxAges("push"), keys.outboxAge("push", 1)],
    [keys.statsMessagesAll(), keys.statsMessages(1, "DIRECT")],
    [keys.statsActiveAll(), keys.statsActive(1)],
    [keys.statsLastActiveAll(), keys.statsLastActive(1)],
    [keys.statsPushAll(), keys.statsPush(1, "failed")],
    [keys.outboxPending(), keys.outbox("realtime", "s", 1)],
    [keys.outboxDeadAll("push"), keys.outboxDead("push", "s", 1)],
    [keys.outboxLostWakes(), keys.outboxLostWake("w")],
    [keys.following("a"), keys.follow("a", "b")],
    [keys.followers("b"), keys.follower("b", "a")],
    [keys.blocks("a"), keys.block("a", "b")],
    [keys.notifications("u"), keys.notification("u", 1)],
    [keys.uploadChunks("up", "p"), keys.uploadChunk("up", "p", 0)],
    [keys.uploadChunks("up"), keys.uploadChunk("up", "p", 0)],
    [keys.uploadSweeps(), keys.uploadSweep(1, "up")],
  ];
  for (const [prefix, key] of pairs) assert.deepEqual(key.slice(0, prefix.length), [...prefix]);
});

Deno.test("parseKey reads back every part the builders put in", () => {
  assert.deepEqual(parseKey.block(keys.block("a", "b")), { blockerId: "a", blockedId: "b" });
  assert.deepEqual(parseKey.follow(keys.follow("a", "b")), { followerId: "a", followeeId: "b" });
  assert.deepEqual(parseKey.follower(keys.follower("b", "a")), { followeeId: "b", followerId: "a" });
  assert.deepEqual(parseKey.searchTodo(keys.searchTodo("r", 7)), { roomId: "r", seq: 7 });
  assert.deepEqual(parseKey.searchEntry(keys.searchEntry("r", "hel", 1000, 7)), {
    roomId: "r",
    term: "hel",
    createdAt: 1000,
    seq: 7,
  });
  assert.deepEqual(parseKey.userRoom(keys.userRoom("u", true, 5, "r")), {
    userId: "u",
    archived: true,
    lastActivityAt: 5,
    roomId: "r",
  });
  assert.deepEqual(parseKey.outboxAge(keys.outboxAge("push", 1000)), { sink: "push", second: 1000 });
  assert.deepEqual(parseKey.hourly(keys.statsMessages(7, "GROUP")), { hour: 7, label: "GROUP" });
  assert.deepEqual(parseKey.hourly(keys.statsPush(7, "failed")), { hour: 7, label: "failed" });
  assert.deepEqual(parseKey.daily(keys.statsActive(9)), { day: 9 });
  assert.deepEqual(parseKey.outbox(keys.outbox("push", "user:u", 3)), {
    sink: "push",
    stream: "user:u",
    order: 3,
  });
  assert.deepEqual(parseKey.outboxDead(keys.outboxDead("push", "user:u", 3)), {
    sink: "push",
    stream: "user:u",
    order: 3,
  });
});

Deno.test("parseKey refuses a key of another layout or with a part of the wrong type", () => {
  assert.throws(() => parseKey.block(keys.follow("a", "b")), TypeError);
  assert.throws(() => parseKey.outbox(keys.outboxDead("push", "s", 1)), TypeError);
  assert.throws(() => parseKey.searchTodo(["search_todo", "r", "7"]), TypeError);
  assert.throws(() => parseKey.userRoom(["user_rooms", "u", false]), TypeError);
});

Deno.test("keys.message() orders rows by numeric seq", async () => {
  using kv = await Deno.openKv(":memory:");
  for (const seq of [10, 2, 1]) await kv.set(keys.message("r", seq), seq);
  const seqs: unknown[] = [];
  for await (const e of kv.list({ prefix: keys.messages("r") })) seqs.push(e.value);
  assert.deepEqual(seqs, [1, 2, 10]);
});

Deno.test("keys.notification() lists a user's notifications newest first in reverse", async () => {
  using kv = await Deno.openKv(":memory:");
  for (const seq of [2, 10, 1]) await kv.set(keys.notification("u", seq), seq);
  await kv.set(keys.notification("u2", 5), 5);
  const seqs: unknown[] = [];
  for await (const e of kv.list({ prefix: keys.notifications("u") }, { reverse: true })) seqs.push(e.value);
  assert.deepEqual(seqs, [10, 2, 1]);
});
