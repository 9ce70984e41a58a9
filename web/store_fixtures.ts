/**
 * @module Fixtures for the store's tests (web/store_test.ts, web/store_room_test.ts): messages,
 * room summaries, and a signed-in state with a room open. Not served; only tests import it.
 */
import { initialState, reduce } from "./store.js";

export type Action = { type: string } & Record<string, unknown>;
export type State = ReturnType<typeof initialState>;
// deno-lint-ignore no-explicit-any
export type Any = any;

export const ME = { id: "alice", name: "Alice", avatar: null };
export const T0 = Date.parse("2026-01-01T10:00:00Z");

/** Message `seq` of room r1: even seqs are Alice's (the user), odd ones Bob's. */
export function message(seq: number, extra: Record<string, unknown> = {}): Any {
  return {
    id: `m${seq}`,
    roomId: "r1",
    seq,
    senderId: seq % 2 === 0 ? "alice" : "bob",
    sender: { id: seq % 2 === 0 ? "alice" : "bob", name: seq % 2 === 0 ? "Alice" : "Bob", avatar: null },
    content: `message ${seq}`,
    type: "text",
    reactions: [],
    isRead: false,
    createdAt: new Date(T0 + seq * 1000).toISOString(),
    ...extra,
  };
}

/** A direct room's summary as `GET /api/chat/rooms` gives it. */
export function summary(id: string, extra: Record<string, unknown> = {}): Any {
  return {
    id,
    type: "DIRECT",
    name: id === "r1" ? "Bob" : `Room ${id}`,
    lastMessage: null,
    lastSeq: 0,
    unreadCount: 0,
    archived: false,
    lastMessageAt: null,
    createdAt: new Date(T0).toISOString(),
    participants: [{ id: "alice", name: "Alice" }, { id: "bob", name: "Bob" }],
    ...extra,
  };
}

/** The state after each action in turn. */
export function run(state: State, ...actions: Action[]): State {
  return actions.reduce((s, a) => reduce(s, a), state);
}

/** Signed in as Alice with rooms r1 (3 unread) and r2 (2 unread), and r1 open with its first page loaded. */
export function openRoom(messages: Any[] = [message(1), message(2)]): State {
  return run(
    initialState(),
    { type: "session/started", session: { token: "t", user: ME } },
    {
      type: "rooms/loaded",
      rooms: [summary("r1", { unreadCount: 3, lastSeq: 2 }), summary("r2", { unreadCount: 2 })],
      totalUnread: 5,
      archived: false,
    },
    { type: "room/opened", roomId: "r1" },
    { type: "messages/firstPage", roomId: "r1", messages, hasMore: false },
  );
}

/** The open room, untyped for assertions. */
export const open = (state: State) => state.open as Any;
/** The seqs of the open room's messages, in list order. */
export const seqs = (state: State) => open(state).messages.map((m: Any) => m.seq);
