import assert from "node:assert/strict";
import fc from "fast-check";
import { initialState, reduce, summaryOf } from "./store.js";
import { patchedMessage } from "./store_room.js";
import {
  type Any,
  ME,
  message,
  open,
  openRoom,
  run,
  seqs,
  type State,
  summary,
  T0,
} from "./store_fixtures.ts";

Deno.test("actions about a room that is no longer open change nothing", () => {
  const state = run(openRoom(), { type: "room/opened", roomId: "r2" });
  for (
    const action of [
      { type: "messages/firstPage", roomId: "r1", messages: [message(3)], hasMore: true },
      { type: "messages/filled", roomId: "r1", messages: [message(3)] },
      { type: "message/received", message: message(3) },
      { type: "send/started", roomId: "r1", clientMessageId: "c", body: {}, at: 0 },
      { type: "typing/changed", roomId: "r1", userId: "bob", userName: "Bob", isTyping: true, until: 1 },
    ]
  ) {
    assert.equal(reduce(state, action), state, action.type);
  }
});

Deno.test("message/received waits for the first page, which will have the message", () => {
  const state = run(
    initialState(),
    { type: "session/started", session: { token: "t", user: ME } },
    { type: "room/opened", roomId: "r1" },
  );
  assert.equal(reduce(state, { type: "message/received", message: message(1) }), state);
});

Deno.test("message/received announces another member's new message once, and clears their typing", () => {
  let state = run(openRoom(), {
    type: "typing/changed",
    roomId: "r1",
    userId: "bob",
    userName: "Bob",
    isTyping: true,
    until: T0,
  });
  assert.deepEqual(Object.keys(open(state).typing), ["bob"]);
  const m3 = message(3, { content: "hello there" });
  state = run(state, { type: "message/received", message: m3 }, { type: "message/received", message: m3 });
  assert.deepEqual(state.announcements.items.map((a) => a.text), ["Bob: hello there"]);
  assert.deepEqual(open(state).typing, {});
  assert.equal(summaryOf(state, "r1").lastMessage, "hello there", "the room list's preview follows");
  state = run(state, { type: "message/received", message: message(4) });
  assert.equal(state.announcements.items.length, 1, "the user's own messages are not announced");
});

Deno.test("message/read turns the user's messages read: in a direct room at once, in a group once all read", () => {
  const direct = run(openRoom([message(1), message(2), message(4)]), {
    type: "message/read",
    roomId: "r1",
    readBy: "bob",
    seq: 2,
    readAt: "2026-01-01T11:00:00Z",
  });
  assert.deepEqual(open(direct).messages.map((m: Any) => [m.seq, m.isRead]), [[1, false], [2, true], [
    4,
    false,
  ]]);
  assert.equal(open(direct).messages[1].readAt, "2026-01-01T11:00:00Z");

  let group = run(openRoom([message(2)]), {
    type: "rooms/loaded",
    rooms: [summary("r1", {
      type: "GROUP",
      participants: [{ id: "alice" }, { id: "bob" }, { id: "carol" }],
    })],
    totalUnread: 0,
    archived: false,
  });
  const read = (readBy: string) => ({ type: "message/read", roomId: "r1", readBy, seq: 2, readAt: "x" });
  group = run(group, read("bob"));
  assert.equal(open(group).messages[0].isRead, false, "carol has not read it");
  group = run(group, read("alice"));
  assert.equal(open(group).messages[0].isRead, false, "the user's own read does not count");
  group = run(group, read("carol"));
  assert.equal(open(group).messages[0].isRead, true);
});

Deno.test("receipts/refreshed takes read receipts from a fresh page, never unread ones", () => {
  let state = openRoom([message(2, { isRead: true, readAt: "a" }), message(4)]);
  state = run(state, {
    type: "receipts/refreshed",
    roomId: "r1",
    messages: [message(2, { isRead: false }), message(4, { isRead: true, readAt: "b" }), message(6)],
  });
  assert.deepEqual(open(state).messages.map((m: Any) => [m.seq, m.isRead, m.readAt]), [[2, true, "a"], [
    4,
    true,
    "b",
  ]]);
});

Deno.test("a send is pending until confirmed; a failure after the confirmation changes nothing", () => {
  let state = run(openRoom(), {
    type: "send/started",
    roomId: "r1",
    clientMessageId: "c1",
    body: { roomId: "r1", content: "hi", clientMessageId: "c1" },
    at: T0,
  });
  assert.deepEqual(open(state).pending.map((p: Any) => [p.clientMessageId, p.status]), [["c1", "sending"]]);
  state = run(state, { type: "send/failed", roomId: "r1", clientMessageId: "c1" });
  assert.equal(open(state).pending[0].status, "failed");
  state = run(state, { type: "send/retried", roomId: "r1", clientMessageId: "c1", at: T0 + 5 });
  assert.equal(open(state).pending[0].status, "sending");
  const confirmed = message(4, { clientMessageId: "c1", content: "hi" });
  state = run(state, { type: "send/confirmed", roomId: "r1", message: confirmed });
  assert.deepEqual(open(state).pending, []);
  assert.deepEqual(seqs(state), [1, 2, 4]);
  assert.equal(summaryOf(state, "r1").lastMessage, "hi");
  assert.equal(reduce(state, { type: "send/failed", roomId: "r1", clientMessageId: "c1" }), state);
  assert.equal(reduce(state, { type: "send/retried", roomId: "r1", clientMessageId: "c1", at: 0 }), state);
});

Deno.test("send/retried moves the retried send after the others", () => {
  const started = (id: string) => ({
    type: "send/started",
    roomId: "r1",
    clientMessageId: id,
    body: {},
    at: 1,
  });
  const state = run(
    openRoom(),
    started("a"),
    started("b"),
    { type: "send/failed", roomId: "r1", clientMessageId: "a" },
    { type: "send/retried", roomId: "r1", clientMessageId: "a", at: 2 },
  );
  assert.deepEqual(open(state).pending.map((p: Any) => p.clientMessageId), ["b", "a"]);
});

Deno.test("message/removed takes the message out but keeps its seq taken", () => {
  const state = run(openRoom(), { type: "message/removed", roomId: "r1", messageId: "m2" });
  assert.deepEqual(seqs(state), [1]);
  assert.equal(open(state).lastSeq, 2);
});

Deno.test("message/replaced only replaces messages the list has", () => {
  const state = openRoom();
  assert.equal(reduce(state, { type: "message/replaced", roomId: "r1", message: message(9) }), state);
  const edited = run(state, {
    type: "message/replaced",
    roomId: "r1",
    message: message(1, { content: "edited", isEdited: true }),
  });
  assert.equal(open(edited).messages[0].content, "edited");
});

Deno.test("typing/expired forgets a line only when no newer typing event extended it", () => {
  const typing = (until: number) => ({
    type: "typing/changed",
    roomId: "r1",
    userId: "bob",
    userName: "Bob",
    isTyping: true,
    until,
  });
  let state = run(openRoom(), typing(100), typing(200));
  state = run(state, { type: "typing/expired", roomId: "r1", userId: "bob", until: 100 });
  assert.deepEqual(Object.keys(open(state).typing), ["bob"]);
  state = run(state, { type: "typing/expired", roomId: "r1", userId: "bob", until: 200 });
  assert.deepEqual(open(state).typing, {});
  assert.deepEqual(open(run(state, typing(300), { ...typing(0), userId: "alice" })).typing, {
    bob: { name: "Bob", until: 300 },
  }, "the user's own typing is not shown");
});

Deno.test("the composer holds one reply or one edit; an edit drops the attachment", () => {
  const attachment = { type: "image", attachmentUrl: "https://example.com/a.png" };
  let state = run(openRoom(), { type: "composer/attach", roomId: "r1", attachment }, {
    type: "composer/replyTo",
    roomId: "r1",
    message: message(1),
  });
  assert.equal(open(state).composer.replyTo.id, "m1");
  assert.equal(open(state).composer.attachment, attachment);
  state = run(state, { type: "composer/edit", roomId: "r1", message: message(2) });
  assert.deepEqual(open(state).composer, { replyTo: null, editing: message(2), attachment: null });
  state = run(state, { type: "composer/attach", roomId: "r1", attachment }, {
    type: "composer/reset",
    roomId: "r1",
  });
  assert.deepEqual(open(state).composer, { replyTo: null, editing: null, attachment });
});

Deno.test("focus/shown flashes the searched message once and ends the request", () => {
  let state = run(openRoom(), { type: "focus/requested", roomId: "r1", seq: 1 });
  assert.deepEqual(state.focus, { roomId: "r1", seq: 1 });
  state = run(state, { type: "focus/shown", roomId: "r1", seq: 1 });
  assert.equal(state.focus, null);
  const first = open(state).flash;
  state = run(state, { type: "focus/shown", roomId: "r1", seq: 1 });
  assert.notEqual(open(state).flash, first, "showing it again flashes again");
});

Deno.test("patchedMessage() keeps a reaction's place, and asks for a refetch when the event says too little", () => {
  const current = message(1, {
    reactions: [{ emoji: "👍", count: 1, userIds: ["bob"] }, { emoji: "🎉", count: 1, userIds: ["bob"] }],
  });
  const bumped = patchedMessage(current, { messageId: "m1", emoji: "👍", userIds: ["bob", "alice"] });
  assert.deepEqual(bumped.reactions.map((r: Any) => [r.emoji, r.count]), [["👍", 2], ["🎉", 1]]);
  const gone = patchedMessage(current, { messageId: "m1", emoji: "👍", userIds: [] });
  assert.deepEqual(gone.reactions.map((r: Any) => r.emoji), ["🎉"]);
  const edited = patchedMessage(current, { messageId: "m1", content: "new", isEdited: true, editedAt: "t" });
  assert.equal(edited.content, "new");
  assert.equal(patchedMessage(current, { messageId: "m1", truncated: true }), null);
  assert.equal(patchedMessage(current, { messageId: "m1", seq: 4 }), null);
});

// ---- Properties ----------------------------------------------------------------------------------

/** One way a message can reach the open room. */
const delivery = fc.oneof(
  fc.record({ kind: fc.constant("received"), seq: fc.integer({ min: 1, max: 40 }), read: fc.boolean() }),
  fc.record({
    kind: fc.constantFrom("olderPage", "filled", "refreshed"),
    seqs: fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 12 }),
    read: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("removed"), seq: fc.integer({ min: 1, max: 40 }) }),
);

function deliver(state: State, d: Any): State {
  const page = (list: number[]) => list.map((seq) => message(seq, { isRead: d.read }));
  switch (d.kind) {
    case "received":
      return reduce(state, { type: "message/received", message: message(d.seq, { isRead: d.read }) });
    case "olderPage":
      // Pages come newest first from the API.
      return reduce(state, {
        type: "messages/olderPage",
        roomId: "r1",
        messages: page(d.seqs).reverse(),
        hasMore: true,
      });
    case "filled":
      return reduce(state, { type: "messages/filled", roomId: "r1", messages: page(d.seqs) });
    case "refreshed":
      return reduce(state, { type: "receipts/refreshed", roomId: "r1", messages: page(d.seqs) });
    default:
      return reduce(state, { type: "message/removed", roomId: "r1", messageId: `m${d.seq}` });
  }
}

Deno.test("property: the open room's messages are in seq order, one per seq, whatever order pages and events come in", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 10 }),
      fc.array(delivery, { maxLength: 30 }),
      (first, deliveries) => {
        let state = openRoom(first.map((seq) => message(seq)));
        const present = new Set(first);
        const read = new Set<number>();
        for (const d of deliveries) {
          state = deliver(state, d);
          if (d.kind === "received" || d.kind === "olderPage" || d.kind === "filled") {
            for (const seq of d.kind === "received" ? [d.seq] : d.seqs) {
              present.add(seq);
              if (d.read) read.add(seq);
            }
          } else if (d.kind === "refreshed" && d.read) {
            for (const seq of d.seqs) if (present.has(seq)) read.add(seq);
          } else if (d.kind === "removed") {
            present.delete(d.seq);
            read.delete(d.seq);
          }
          const shown = seqs(state);
          for (let i = 1; i < shown.length; i++) assert.ok(shown[i - 1] < shown[i], `in order: ${shown}`);
          assert.deepEqual(shown, [...present].sort((a, b) => a - b), "none lost, none invented");
          assert.ok(open(state).lastSeq >= Math.max(0, ...shown));
          for (const m of open(state).messages) {
            assert.equal(m.isRead, read.has(m.seq), `receipt of ${m.seq} only moves forward`);
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

/** What can happen to send `i`: confirmed through one of three paths, failed, or retried. */
const sendEvent = fc.record({
  send: fc.integer({ min: 0, max: 4 }),
  kind: fc.constantFrom("confirmed", "received", "filled", "failed", "retried"),
});

Deno.test("property: a pending send is replaced by its confirmed message exactly once, whichever path confirms it", () => {
  fc.assert(
    fc.property(fc.array(sendEvent, { maxLength: 40 }), (events) => {
      let state = openRoom([message(1)]);
      const cmid = (i: number) => `c${i}`;
      const confirmation = (i: number) =>
        message(10 + 2 * i, { clientMessageId: cmid(i), content: `send ${i}` });
      for (let i = 0; i < 5; i++) {
        state = reduce(state, {
          type: "send/started",
          roomId: "r1",
          clientMessageId: cmid(i),
          body: { roomId: "r1", content: `send ${i}`, clientMessageId: cmid(i) },
          at: T0 + i,
        });
      }
      const confirmed = new Set<number>();
      for (const { send: i, kind } of events) {
        const m = confirmation(i);
        const action = kind === "confirmed"
          ? { type: "send/confirmed", roomId: "r1", message: m }
          : kind === "received"
          ? { type: "message/received", message: m }
          : kind === "filled"
          ? { type: "messages/filled", roomId: "r1", messages: [m] }
          : kind === "failed"
          ? { type: "send/failed", roomId: "r1", clientMessageId: cmid(i) }
          : { type: "send/retried", roomId: "r1", clientMessageId: cmid(i), at: T0 + 100 };
        state = reduce(state, action);
        if (kind === "confirmed" || kind === "received" || kind === "filled") confirmed.add(i);
        for (let j = 0; j < 5; j++) {
          const inPending = open(state).pending.filter((p: Any) => p.clientMessageId === cmid(j)).length;
          const inMessages = open(state).messages.filter((x: Any) => x.clientMessageId === cmid(j)).length;
          assert.equal(inPending + inMessages, 1, `send ${j} is shown exactly once`);
          assert.equal(inMessages, confirmed.has(j) ? 1 : 0, `send ${j} is a message once confirmed`);
        }
      }
      assert.equal(state.announcements.items.length, 0, "the user's own sends are not announced");
    }),
    { numRuns: 300 },
  );
});
