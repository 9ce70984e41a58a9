import assert from "node:assert/strict";
import { keys } from "../storage/keys.ts";
import type { StoredMessage } from "../storage/records.ts";
import { batchId, outboxBatchWrite, outboxWrite, parseBatchId, roomStream, userStream } from "./outbox.ts";

Deno.test("keys pins the outbox layouts (a change is a data migration)", () => {
  assert.deepEqual(keys.outbox("realtime", "room:r", 3), ["outbox", "realtime", "room:r", 3]);
  assert.deepEqual(keys.outboxPending("push"), ["outbox", "push"]);
  assert.deepEqual(keys.outboxPending("push", "room:r"), ["outbox", "push", "room:r"]);
  assert.deepEqual(keys.outboxLease("realtime", "room:r"), ["outbox_lease", "realtime", "room:r"]);
  assert.deepEqual(keys.outboxOwner("w"), ["outbox_owner", "w"]);
  assert.deepEqual(keys.outboxDead("realtime", "room:r", 3), ["outbox_dead", "realtime", "room:r", 3]);
  assert.deepEqual(keys.outboxDeadAll(), ["outbox_dead"]);
  assert.deepEqual(keys.outboxDeadAll("push"), ["outbox_dead", "push"]);
  assert.deepEqual(keys.outboxLostWake("x"), ["outbox_lost_wake", "x"]);
  assert.deepEqual(keys.pushOutcome("push:r:1", "g"), ["push_outcome", "push:r:1", "g"]);
  assert.deepEqual(keys.preferences("u"), ["prefs", "u"]);
});

Deno.test("batchId() and parseBatchId() round-trip, streams with colons included", () => {
  const id = batchId("realtime", roomStream("g_1"), 12);
  assert.equal(id, "realtime:room:g_1:12");
  assert.deepEqual(parseBatchId(id), { sink: "realtime", stream: "room:g_1", order: 12 });
  assert.deepEqual(parseBatchId(batchId("push", userStream("a"), 1)), {
    sink: "push",
    stream: "user:a",
    order: 1,
  });
  assert.equal(parseBatchId("nope"), null);
  assert.equal(parseBatchId("realtime:room:x:abc"), null);
});

const message: StoredMessage = {
  id: "g_1:1",
  roomId: "g_1",
  seq: 1,
  senderId: "alice",
  sender: { id: "alice", name: "Alice", avatar: null },
  content: "x".repeat(150),
  type: "text",
  reactions: new Map(),
  createdAt: 1000,
};

const group = { type: "GROUP" as const, name: "Hiking", createdBy: "alice" };

/** The rows a write sets, by sink. */
function rows(out: { mutations: Deno.KvMutation[] }) {
  return out.mutations.flatMap((m) =>
    m.type === "set" && m.key[0] === "outbox"
      ? [{ sink: m.key[1], value: m.value as { events: Record<string, unknown>[] } }]
      : []
  );
}

Deno.test("outboxWrite() writes a realtime batch, and a push batch only when push is on", () => {
  const events = [{ type: "message.created" as const, message, unread: { bob: 1 } }];
  const off = outboxWrite(
    { stream: "room:g_1", order: 4, now: 5, push: false, room: group },
    events,
    (e) => e.message.content,
  );
  assert.deepEqual(off.wake, [{ sink: "realtime", stream: "room:g_1" }]);
  assert.deepEqual(rows(off).map((r) => r.sink), ["realtime"]);
  const on = outboxWrite(
    { stream: "room:g_1", order: 4, now: 5, push: true, room: group },
    events,
    (e) => e.message.content,
  );
  assert.deepEqual(on.wake.map((w) => w.sink), ["realtime", "push"]);
  const push = rows(on)[1]!.value as { events: { text: string; recipients: string[] }[] };
  assert.equal(push.events[0]!.text.length, 100);
  assert.deepEqual(push.events[0]!.recipients, ["bob"]);
});

Deno.test("outboxWrite() counts each row it writes as pending, in the same mutations", () => {
  const events = [{ type: "message.created" as const, message, unread: { bob: 1 } }];
  const on = outboxWrite(
    { stream: "room:g_1", order: 4, now: 5, push: true, room: group },
    events,
    (e) => e.message.content,
  );
  const sums = on.mutations.filter((m) => m.type === "sum");
  assert.deepEqual(sums.map((m) => m.key), [
    keys.outboxCount("realtime", "pending"),
    keys.outboxAge("realtime", 0),
    keys.outboxCount("push", "pending"),
    keys.outboxAge("push", 0),
  ]);
  assert.ok(sums.every((m) => (m.value as Deno.KvU64).value === 1n));
});

Deno.test("outboxWrite() gives a group's added members to the social sink, never a direct room's", () => {
  const created = outboxWrite(
    { stream: "room:g_1", order: 1, now: 5, push: false, room: group },
    [{ type: "room.created", roomId: "g_1", memberIds: ["alice", "bob", "carol"] }],
    () => "",
  );
  assert.deepEqual(rows(created).find((r) => r.sink === "social")?.value.events, [
    { type: "group.added", roomId: "g_1", roomName: "Hiking", actorId: "alice", userIds: ["bob", "carol"] },
  ]);
  const added = outboxWrite(
    { stream: "room:g_1", order: 2, now: 5, push: false, room: group },
    [{ type: "member.added", roomId: "g_1", seq: 0, userIds: ["dave"], addedBy: "bob", memberIds: [] }],
    () => "",
  );
  assert.deepEqual(rows(added).find((r) => r.sink === "social")?.value.events, [
    { type: "group.added", roomId: "g_1", roomName: "Hiking", actorId: "bob", userIds: ["dave"] },
  ]);
  const direct = outboxWrite(
    { stream: "room:dm_1", order: 1, now: 5, push: false, room: { ...group, type: "DIRECT" } },
    [{ type: "room.created", roomId: "dm_1", memberIds: ["alice", "bob"] }],
    () => "",
  );
  assert.deepEqual(rows(direct).map((r) => r.sink), ["realtime"]);
});

Deno.test("outboxBatchWrite() writes nothing for no events", () => {
  const out = outboxBatchWrite("realtime", { stream: userStream("a"), order: 1, now: 1 }, []);
  assert.deepEqual(out, { mutations: [], wake: [], bytes: 0 });
});
