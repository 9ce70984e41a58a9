import assert from "node:assert/strict";
import { messageView } from "../api/views.ts";
import type { StoredMessage } from "../storage/records.ts";
import type { RealtimeEvent } from "../outbox/outbox.ts";
import { utf8ByteLength } from "./protocol.ts";
import {
  chunk,
  encodeEvent,
  MAX_EVENT_BYTES,
  revocationOf,
  toPusherEvents,
  typingEvent,
  usersNeedingTotals,
} from "./pusher_events.ts";

const message: StoredMessage = {
  id: "dm_x:3",
  roomId: "dm_x",
  seq: 3,
  senderId: "alice",
  sender: { id: "alice", name: "Alice", avatar: null },
  content: "hi bob",
  type: "text",
  reactions: new Map(),
  createdAt: Date.UTC(2026, 0, 1),
};
const totals = {
  totalUnread: (id: string) => ({ bob: 9 } as Record<string, number>)[id] ?? 0,
  links: { attachmentUrl: (id: string) => `/files/${id}` },
};
const parsed = (e: { data: string }) => JSON.parse(e.data);

Deno.test("toPusherEvents() sends a new message to the room and to every other member", () => {
  const events = toPusherEvents(
    { type: "message.created", message, receiverId: "bob", unread: { bob: 2 } },
    totals,
  );
  assert.deepEqual(events.map((e) => [e.channel, e.name]), [
    ["private-room-dm_x", "new-message"],
    ["private-user-bob", "new-message"],
  ]);
  const room = parsed(events[0]!);
  assert.equal(room.id, "dm_x:3");
  assert.equal(room.seq, 3);
  assert.equal(room.receiverId, "bob");
  assert.equal(room.isRead, false);
  assert.equal(room.createdAt, "2026-01-01T00:00:00.000Z");
  const user = parsed(events[1]!);
  assert.deepEqual(Object.keys(user).sort(), ["message", "roomId", "totalUnread", "unreadCount"]);
  assert.equal(user.roomId, "dm_x");
  assert.equal(user.unreadCount, 2);
  assert.equal(user.totalUnread, 9);
  assert.deepEqual(user.message, room);
});

Deno.test("toPusherEvents() writes each member's new-message exactly as JSON.stringify of its payload", () => {
  const group = { ...message, roomId: "g_1", id: "g_1:3", content: 'quote " and \\ and é' };
  const events = toPusherEvents(
    { type: "message.created", message: group, unread: { bob: 2, 'c"arol': 1 } },
    totals,
  );
  const view = messageView(group, { readAt: null }, totals.links);
  assert.equal(events[0]!.data, JSON.stringify(view));
  assert.deepEqual(events.slice(1).map((e) => e.data), [
    JSON.stringify({ message: view, roomId: "g_1", unreadCount: 2, totalUnread: 9 }),
    JSON.stringify({ message: view, roomId: "g_1", unreadCount: 1, totalUnread: 0 }),
  ]);
});

Deno.test("toPusherEvents() sends message-read to the room and unread-updated to the reader", () => {
  const read: RealtimeEvent = {
    type: "message.read",
    roomId: "dm_x",
    messageId: "dm_x:3",
    seq: 3,
    readBy: "bob",
    readAt: Date.UTC(2026, 0, 2),
    unreadCount: 0,
  };
  const [room, user] = toPusherEvents(read, totals);
  assert.equal(room!.channel, "private-room-dm_x");
  assert.equal(room!.name, "message-read");
  assert.deepEqual(parsed(room!), {
    roomId: "dm_x",
    seq: 3,
    messageId: "dm_x:3",
    readBy: "bob",
    readAt: "2026-01-02T00:00:00.000Z",
  });
  assert.equal(user!.channel, "private-user-bob");
  assert.equal(user!.name, "unread-updated");
  assert.deepEqual(parsed(user!), { roomId: "dm_x", seq: 3, unreadCount: 0, totalUnread: 9 });
});

Deno.test("toPusherEvents() tells every member of a new room to refresh their list", () => {
  const events = toPusherEvents({ type: "room.created", roomId: "g_1", memberIds: ["a", "b"] }, totals);
  assert.deepEqual(events.map((e) => [e.channel, e.name]), [
    ["private-user-a", "room-created"],
    ["private-user-b", "room-created"],
  ]);
  assert.deepEqual(parsed(events[0]!), { roomId: "g_1", seq: 0, memberIds: ["a", "b"] });
});

Deno.test("toPusherEvents() forwards a notification on the user channel", () => {
  const [event] = toPusherEvents({
    type: "notification",
    userId: "bob",
    notification: { id: "n1", title: "t" },
  }, totals);
  assert.equal(event!.channel, "private-user-bob");
  assert.equal(event!.name, "notification");
  assert.deepEqual(parsed(event!), { id: "n1", title: "t" });
});

Deno.test("toPusherEvents() truncates data over 10 KB to a stub that says what to fetch", () => {
  const big = { ...message, content: "é".repeat(6000) }; // 12,000 UTF-8 bytes
  const [room, user] = toPusherEvents({ type: "message.created", message: big, unread: { bob: 1 } }, totals);
  assert.deepEqual(parsed(room!), { roomId: "dm_x", seq: 3, messageId: "dm_x:3", truncated: true });
  assert.deepEqual(parsed(user!), {
    roomId: "dm_x",
    seq: 3,
    messageId: "dm_x:3",
    unreadCount: 1,
    totalUnread: 9,
    truncated: true,
  });
  const fits = { ...message, content: "a".repeat(9000) };
  const [whole] = toPusherEvents({ type: "message.created", message: fits, unread: {} }, totals);
  assert.equal(parsed(whole!).content.length, 9000);
});

Deno.test("encodeEvent() keeps data of exactly 10 KB and truncates one byte more", () => {
  const base = JSON.stringify({ roomId: "r", seq: 1, x: "" }).length;
  const exact = encodeEvent("c", "e", { roomId: "r", seq: 1, x: "a".repeat(MAX_EVENT_BYTES - base) });
  assert.equal(utf8ByteLength(exact.data), MAX_EVENT_BYTES);
  assert.equal(parsed(exact).truncated, undefined);
  const over = encodeEvent("c", "e", { roomId: "r", seq: 1, x: "a".repeat(MAX_EVENT_BYTES - base + 1) });
  assert.deepEqual(parsed(over), { roomId: "r", seq: 1, truncated: true });
});

Deno.test("usersNeedingTotals() lists message recipients and readers once", () => {
  assert.deepEqual(
    usersNeedingTotals([
      { type: "message.created", message, unread: { bob: 1, carol: 1 } },
      {
        type: "message.read",
        roomId: "r",
        messageId: "r:1",
        seq: 1,
        readBy: "bob",
        readAt: 1,
        unreadCount: 0,
      },
    ]),
    ["bob", "carol"],
  );
});

Deno.test("typingEvent() goes to the room channel as user-typing", () => {
  const e = typingEvent({ roomId: "g_1", userId: "a", userName: "A", isTyping: true });
  assert.equal(e.channel, "private-room-g_1");
  assert.equal(e.name, "user-typing");
  assert.deepEqual(parsed(e), { roomId: "g_1", userId: "a", userName: "A", isTyping: true });
});

Deno.test("chunk() splits into runs of ten, in order", () => {
  const items = Array.from({ length: 23 }, (_, i) => i);
  assert.deepEqual(chunk(items, 10).map((c) => c.length), [10, 10, 3]);
  assert.deepEqual(chunk(items, 10).flat(), items);
});

Deno.test("toPusherEvents() maps edits, deletes, reactions and membership to the room channel with seq", () => {
  const names = (event: RealtimeEvent) => toPusherEvents(event, totals).map((e) => [e.channel, e.name]);
  const edited = toPusherEvents({
    type: "message.updated",
    roomId: "g",
    seq: 4,
    messageId: "g:2",
    senderId: "a",
    content: "fixed",
    editedAt: 0,
  }, totals);
  assert.deepEqual(parsed(edited[0]!), {
    roomId: "g",
    seq: 4,
    messageId: "g:2",
    senderId: "a",
    content: "fixed",
    isEdited: true,
    editedAt: "1970-01-01T00:00:00.000Z",
  });
  assert.deepEqual(
    names({
      type: "message.deleted",
      roomId: "g",
      seq: 4,
      messageId: "g:2",
      deletedBy: "a",
      deletedAt: 0,
      unread: { bob: 1 },
    }),
    [["private-room-g", "message-deleted"], ["private-user-bob", "unread-updated"]],
  );
  const reaction = toPusherEvents({
    type: "reaction.updated",
    roomId: "g",
    seq: 4,
    messageId: "g:2",
    userId: "b",
    emoji: "👍",
    added: true,
    userIds: ["a", "b"],
  }, totals);
  assert.equal(reaction[0]!.name, "reaction-updated");
  assert.equal(parsed(reaction[0]!).count, 2);
  assert.equal(parsed(reaction[0]!).seq, 4);
  assert.deepEqual(
    names({ type: "member.added", roomId: "g", seq: 4, userIds: ["c"], addedBy: "a", memberIds: ["a", "c"] }),
    [["private-room-g", "member-added"], ["private-user-c", "member-added"]],
  );
  assert.deepEqual(
    names({
      type: "member.removed",
      roomId: "g",
      seq: 4,
      userId: "c",
      removedBy: "a",
      left: false,
      memberIds: ["a"],
    }),
    [["private-room-g", "member-removed"], ["private-user-c", "member-removed"]],
  );
  assert.deepEqual(
    names({ type: "room.updated", roomId: "g", seq: 4, updatedBy: "a", name: "N", memberIds: [] }),
    [[
      "private-room-g",
      "room-updated",
    ]],
  );
  assert.deepEqual(names({ type: "room.archived", roomId: "g", seq: 4, userId: "a", archived: true }), [[
    "private-user-a",
    "room-archived",
  ]]);
});

Deno.test("revocationOf() takes a removed member off the room's private and presence channels", () => {
  const removed: RealtimeEvent = {
    type: "member.removed",
    roomId: "g1",
    seq: 4,
    userId: "carol",
    removedBy: "alice",
    left: false,
    memberIds: ["alice", "bob"],
  };
  assert.deepEqual(revocationOf(removed), {
    userId: "carol",
    channels: ["private-room-g1", "presence-room-g1"],
  });
  assert.deepEqual(revocationOf({ ...removed, removedBy: "carol", left: true })?.userId, "carol");
  assert.equal(
    revocationOf({
      type: "member.added",
      roomId: "g1",
      seq: 5,
      userIds: ["carol"],
      addedBy: "a",
      memberIds: [],
    }),
    null,
  );
});
