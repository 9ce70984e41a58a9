import assert from "node:assert/strict";
import fc from "fast-check";
import { createStore, initialState, listedRoom, reduce, sortedRooms, summaryOf } from "./store.js";
import { type Any, ME, message, open, openRoom, run, seqs, type State, summary } from "./store_fixtures.ts";

Deno.test("reduce() rejects an action type it does not know", () => {
  assert.throws(() => reduce(initialState(), { type: "rooms/lodaed" }), TypeError);
});

Deno.test("createStore() calls listeners with the new and previous state, and not for no-ops", () => {
  const store = createStore();
  const calls: [State, State][] = [];
  const stop = store.subscribe((state: State, previous: State) => calls.push([state, previous]));
  store.dispatch({ type: "room/closed" }); // nothing open: same state
  assert.equal(calls.length, 0);
  store.dispatch({ type: "connection/changed", state: "connected" });
  assert.equal(calls.length, 1);
  assert.equal(calls[0]![0].connection.state, "connected");
  assert.equal(calls[0]![1].connection.state, "initialized");
  stop();
  store.dispatch({ type: "connection/changed", state: "unavailable" });
  assert.equal(calls.length, 1);
});

Deno.test("room visits keep counting across sessions, so an old answer never matches a new visit", () => {
  const first = openRoom();
  const visit = open(first).visit;
  const again = run(
    first,
    { type: "session/ended" },
    { type: "session/started", session: { token: "t2", user: ME } },
    { type: "room/opened", roomId: "r1" },
  );
  assert.ok(open(again).visit > visit);
});

Deno.test("rooms/loaded lists the rooms most recent first and keeps every summary seen", () => {
  let state = run(initialState(), {
    type: "rooms/loaded",
    rooms: [
      summary("a", { lastMessageAt: "2026-01-01T10:00:00Z" }),
      summary("b", { lastMessageAt: "2026-01-02T10:00:00Z" }),
    ],
    totalUnread: 4,
    archived: false,
  });
  assert.deepEqual(sortedRooms(state).map((r: Any) => r.id), ["b", "a"]);
  assert.equal(state.totalUnread, 4);
  assert.equal(state.rooms.loaded, true);
  state = run(state, { type: "rooms/loaded", rooms: [summary("b")], totalUnread: 0, archived: false });
  assert.equal(listedRoom(state, "a"), undefined);
  assert.equal(summaryOf(state, "a")?.id, "a", "an archived room keeps its name while open");
});

Deno.test("rooms/loaded ignores a list asked for before the archived switch changed", () => {
  const state = run(initialState(), { type: "rooms/showArchived", archived: true }, {
    type: "rooms/loaded",
    rooms: [summary("a")],
    totalUnread: 1,
    archived: false,
  });
  assert.deepEqual(state.rooms.ids, []);
  assert.equal(state.rooms.loaded, false);
});

Deno.test("room/archived back to active takes the list back to the active chats", () => {
  let state = run(openRoom(), { type: "rooms/showArchived", archived: true }, {
    type: "room/archived",
    roomId: "r1",
    archived: true,
  });
  assert.equal(summaryOf(state, "r1").archived, true);
  assert.equal(state.rooms.showArchived, true);
  state = run(state, { type: "room/archived", roomId: "r1", archived: false });
  assert.equal(summaryOf(state, "r1").archived, false);
  assert.equal(state.rooms.showArchived, false);
});

Deno.test("messages/firstPage marks the opened room read in the totals", () => {
  const state = openRoom();
  assert.equal(open(state).loaded, true);
  assert.deepEqual(seqs(state), [1, 2]);
  assert.equal(summaryOf(state, "r1").unreadCount, 0);
  assert.equal(state.totalUnread, 2);
});

Deno.test("user/newMessage updates the listed room's preview and counts, and announces when not open", () => {
  const image = message(7, { roomId: "r2", type: "image", content: "caption" });
  const state = run(openRoom(), {
    type: "user/newMessage",
    roomId: "r2",
    message: image,
    unreadCount: 3,
    totalUnread: 3,
  });
  const r2 = summaryOf(state, "r2");
  assert.equal(r2.lastMessage, "📷 caption", "the server's preview rule (common/preview.js)");
  assert.equal(r2.unreadCount, 3);
  assert.equal(state.totalUnread, 3);
  assert.deepEqual(state.announcements.items.map((a) => a.text), ["New message from Bob: 📷 caption"]);
  const stale = run(state, { type: "user/newMessage", roomId: "r2", message: message(5, { roomId: "r2" }) });
  assert.equal(summaryOf(stale, "r2").lastSeq, 7, "an older message does not take the preview back");
});

Deno.test("unread/updated changes only rooms in the list", () => {
  const state = run(openRoom(), { type: "unread/updated", roomId: "gone", unreadCount: 9, totalUnread: 7 });
  assert.equal(summaryOf(state, "gone"), undefined);
  assert.equal(state.totalUnread, 7);
});

Deno.test("read/marked moves the total by the room's change", () => {
  let state = run(openRoom(), { type: "unread/updated", roomId: "r1", unreadCount: 2, totalUnread: 4 });
  state = run(state, { type: "read/marked", roomId: "r1", unreadCount: 0 });
  assert.equal(summaryOf(state, "r1").unreadCount, 0);
  assert.equal(state.totalUnread, 2);
  state = run(state, { type: "read/marked", roomId: "r2", unreadCount: 0 }, {
    type: "read/marked",
    roomId: "r2",
    unreadCount: 0,
  });
  assert.equal(state.totalUnread, 0, "never below zero");
});

Deno.test("search results of an older run are dropped", () => {
  let state = run(initialState(), { type: "search/started", query: "lunch" });
  const first = state.search.run;
  state = run(state, { type: "search/started", query: "lunch crew" });
  state = run(state, { type: "search/results", run: first, messages: [message(1)] });
  assert.equal(state.search.results, null);
  state = run(state, { type: "search/failed", run: state.search.run, error: "Rate limited" });
  assert.deepEqual(state.search.results, []);
  assert.equal(state.search.error, "Rate limited");
});

Deno.test("notifications are kept once each and counted unread", () => {
  const n = (id: string, isRead = false) => ({ id, title: id, isRead });
  let state = run(initialState(), { type: "notifications/loaded", items: [n("a", true), n("b")] });
  assert.equal(state.notifications.unread, 1, "counted when the server does not say");
  state = run(state, { type: "notifications/received", notification: n("c") }, {
    type: "notifications/received",
    notification: n("c"),
  });
  assert.deepEqual(state.notifications.items.map((x) => x.id), ["c", "a", "b"]);
  assert.equal(state.notifications.unread, 2);
  assert.equal(run(state, { type: "notifications/read" }).notifications.unread, 0);
});

Deno.test("profile/followed flips following and the follower count; answers for another profile are dropped", () => {
  let state = run(initialState(), { type: "profile/opened", userId: "bob" }, {
    type: "profile/loaded",
    userId: "carol",
    user: { id: "carol" },
    following: true,
  });
  assert.equal(state.profile?.user, null);
  state = run(state, {
    type: "profile/loaded",
    userId: "bob",
    user: { id: "bob", followers: 0 },
    following: false,
  });
  state = run(state, { type: "profile/followed", userId: "bob", following: true });
  assert.equal(state.profile?.following, true);
  assert.equal(state.profile?.user.followers, 1);
  state = run(state, { type: "profile/followed", userId: "bob", following: false }, {
    type: "profile/followed",
    userId: "bob",
    following: false,
  });
  assert.equal(state.profile?.user.followers, 0, "never below zero");
  assert.equal(run(state, { type: "profile/closed" }).profile, null);
});

Deno.test("announcements keep the newest five, with ids that keep counting", () => {
  let state = initialState();
  for (let i = 1; i <= 7; i++) state = run(state, { type: "announce", text: `a${i}` });
  assert.deepEqual(state.announcements.items.map((a) => [a.id, a.text]), [[3, "a3"], [4, "a4"], [5, "a5"], [
    6,
    "a6",
  ], [7, "a7"]]);
});

Deno.test("property: unread totals never go below zero", () => {
  const event = fc.oneof(
    fc.record({
      type: fc.constant("read/marked"),
      roomId: fc.constantFrom("r1", "r2"),
      unreadCount: fc.nat(5),
    }),
    fc.record({
      type: fc.constant("unread/updated"),
      roomId: fc.constantFrom("r1", "r2"),
      unreadCount: fc.nat(5),
      totalUnread: fc.nat(10),
    }),
    fc.record({ type: fc.constant("room/opened"), roomId: fc.constantFrom("r1", "r2") }),
    fc.record({
      type: fc.constant("messages/firstPage"),
      roomId: fc.constantFrom("r1", "r2"),
      messages: fc.constant([]),
      hasMore: fc.boolean(),
    }),
  );
  fc.assert(
    fc.property(fc.array(event, { maxLength: 30 }), (events) => {
      let state = openRoom();
      for (const e of events) {
        state = reduce(state, e);
        assert.ok(state.totalUnread >= 0);
      }
    }),
  );
});
