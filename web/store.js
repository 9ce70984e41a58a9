/**
 * @module The web client's whole state and the pure reducers that change it: an action in, a new
 * state out (nothing mutated, nothing fetched, no clock read). Views render from it; web/sync.js
 * feeds it what the server says. What happens inside the open room is in web/store_room.js.
 */
import { previewLine, previewText } from "../common/preview.js";
import * as room from "./store_room.js";

/** The screen-reader announcements kept (the live region reads each once, when it is added). */
const MAX_ANNOUNCEMENTS = 5;

/**
 * @typedef {{id: string, name: string, avatar: string | null}} User
 * @typedef {{token: string, user: User}} Session
 * @typedef {Record<string, any> & {id: string, type: "DIRECT" | "GROUP", name: string, lastSeq: number,
 *   unreadCount: number, archived: boolean, participants: any[]}} RoomSummary
 * @typedef {Record<string, any> & {id: string, roomId: string, seq: number, senderId: string}} Message
 * @typedef {{clientMessageId: string, body: Record<string, any>, status: "sending" | "failed", at: number}} Pending
 * @typedef {{
 *   roomId: string, visit: number, messages: Message[], lastSeq: number, pending: Pending[],
 *   loaded: boolean, hasMore: boolean, loadingOlder: boolean, readSeqs: Record<string, number>,
 *   readUpTo: number, typing: Record<string, {name: string, until: number}>,
 *   composer: {replyTo: Message | null, editing: Message | null, attachment: Record<string, any> | null},
 *   flash: {seq: number, count: number} | null,
 * }} OpenRoom
 * @typedef {{
 *   session: Session | null,
 *   connection: {state: string, label: string | null},
 *   rooms: {byId: Record<string, RoomSummary>, ids: string[], showArchived: boolean, loaded: boolean},
 *   totalUnread: number,
 *   visits: number,
 *   open: OpenRoom | null,
 *   focus: {roomId: string, seq: number} | null,
 *   notifications: {items: any[], unread: number},
 *   search: {query: string, run: number, results: Message[] | null, error: string | null},
 *   profile: {userId: string, user: any, following: boolean | null, error: string | null} | null,
 *   announcements: {next: number, items: {id: number, text: string}[]},
 * }} State
 */

/** The state of a client nobody has signed in to. @returns {State} */
export function initialState() {
  return {
    session: null,
    connection: { state: "initialized", label: null },
    // `byId` keeps every room summary seen, so an open archived room keeps its name; `ids` is the list.
    rooms: { byId: {}, ids: [], showArchived: false, loaded: false },
    totalUnread: 0,
    visits: 0,
    open: null,
    focus: null,
    notifications: { items: [], unread: 0 },
    search: { query: "", run: 0, results: null, error: null },
    profile: null,
    announcements: { next: 1, items: [] },
  };
}

/**
 * A store: the current state, `dispatch(action)` through `reduce`, and listeners called after
 * every change with the new and the previous state.
 */
export function createStore(state = initialState()) {
  const listeners = new Set();
  return {
    /** @returns {State} */
    getState: () => state,
    dispatch(action) {
      const previous = state;
      state = reduce(state, action);
      if (state !== previous) { for (const listener of [...listeners]) listener(state, previous); }
    },
    /** Calls `listener(state, previous)` after each change; returns the unsubscribe function. */
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * The state after `action`; an action about a room that is no longer open returns the same state.
 * @throws {TypeError} for an action type no reducer knows (a typo, not a server's new event)
 * @param {State} state
 * @param {{type: string} & Record<string, any>} action
 * @returns {State}
 */
export function reduce(state, action) {
  const reducer = REDUCERS[action.type];
  if (!reducer) throw new TypeError(`Unknown action ${action.type}`);
  return reducer(state, action);
}

const REDUCERS = {
  // Visits keep counting across sessions, so an answer for a room opened before can never pass for one opened now.
  "session/started": (state, { session }) => ({ ...initialState(), visits: state.visits, session }),
  "session/ended": (state) => ({ ...initialState(), visits: state.visits }),
  "connection/changed": (state, { state: current, label = null }) => ({
    ...state,
    connection: { state: current, label },
  }),
  "rooms/loaded": roomsLoaded,
  "rooms/showArchived": (state, { archived }) => ({
    ...state,
    rooms: { ...state.rooms, showArchived: archived },
  }),
  "room/archived": roomArchived,
  "room/opened": (state, { roomId }) => ({
    ...state,
    visits: state.visits + 1,
    open: emptyRoom(roomId, state.visits + 1),
  }),
  "room/closed": (state) => (state.open ? { ...state, open: null } : state),
  "user/newMessage": userNewMessage,
  "unread/updated": (state, { roomId, unreadCount, totalUnread }) => {
    let next = state;
    const summary = listedRoom(state, roomId);
    if (summary && typeof unreadCount === "number") next = withSummary(next, { ...summary, unreadCount });
    return typeof totalUnread === "number" ? { ...next, totalUnread } : next;
  },
  "focus/requested": (state, { roomId, seq }) => ({ ...state, focus: { roomId, seq } }),
  "search/started": (state, { query }) => ({
    ...state,
    search: { query, run: state.search.run + 1, results: null, error: null },
  }),
  "search/results": (state, { run, messages }) =>
    run === state.search.run
      ? { ...state, search: { ...state.search, results: messages, error: null } }
      : state,
  "search/failed": (state, { run, error }) =>
    run === state.search.run ? { ...state, search: { ...state.search, results: [], error } } : state,
  "notifications/loaded": (state, { items, unreadCount }) => ({
    ...state,
    notifications: { items, unread: unreadCount ?? items.filter((n) => !n.isRead).length },
  }),
  "notifications/received": (state, { notification }) => {
    const { items, unread } = state.notifications;
    if (items.some((n) => n.id === notification.id)) return state;
    return {
      ...state,
      notifications: { items: [notification, ...items], unread: unread + (notification.isRead ? 0 : 1) },
    };
  },
  "notifications/read": (state) => ({ ...state, notifications: { ...state.notifications, unread: 0 } }),
  "profile/opened": (state, { userId }) => ({
    ...state,
    profile: { userId, user: null, following: null, error: null },
  }),
  "profile/loaded": (state, { userId, user, following }) =>
    withProfile(state, userId, (p) => ({ ...p, user, following, error: null })),
  "profile/failed": (state, { userId, error, following = null }) =>
    withProfile(state, userId, (p) => ({ ...p, error, following: following ?? p.following })),
  "profile/followed": (state, { userId, following }) =>
    withProfile(state, userId, (p) => ({
      ...p,
      following,
      error: null,
      user: p.user && { ...p.user, followers: Math.max(0, (p.user.followers ?? 0) + (following ? 1 : -1)) },
    })),
  "profile/closed": (state) => (state.profile ? { ...state, profile: null } : state),
  announce: (state, { text }) => announce(state, text),

  // ---- The open room: every action names its room and changes nothing once another is open.
  "messages/firstPage": firstPage,
  "messages/olderPage": (state, { roomId, messages, hasMore }) =>
    updateOpen(state, roomId, (open) => ({
      ...room.insertMessages(open, messages, meId(state)),
      hasMore,
      loadingOlder: false,
    })),
  "messages/loadingOlder": (state, { roomId, loading }) =>
    updateOpen(state, roomId, (open) => ({ ...open, loadingOlder: loading })),
  "messages/filled": (state, { roomId, messages }) =>
    updateOpen(state, roomId, (open) => room.insertMessages(open, messages, meId(state))),
  "message/received": messageReceived,
  "message/replaced": (state, { roomId, message }) =>
    updateOpen(state, roomId, (open) => room.replaceMessage(open, message, meId(state))),
  "message/removed": (state, { roomId, messageId }) =>
    updateOpen(state, roomId, (open) => room.removeMessage(open, messageId)),
  "message/read": (state, { roomId, readBy, seq, readAt }) =>
    updateOpen(
      state,
      roomId,
      (open) =>
        room.markReadBy(open, { readBy, seq, readAt }, {
          meId: meId(state),
          summary: summaryOf(state, roomId),
        }),
    ),
  "receipts/refreshed": (state, { roomId, messages }) =>
    updateOpen(state, roomId, (open) => room.takeReceipts(open, messages)),
  "send/started": (state, { roomId, clientMessageId, body, at }) =>
    updateOpen(state, roomId, (open) => room.addPending(open, { clientMessageId, body, at })),
  "send/confirmed": sendConfirmed,
  "send/failed": (state, { roomId, clientMessageId }) =>
    updateOpen(state, roomId, (open) => room.failPending(open, clientMessageId)),
  "send/retried": (state, { roomId, clientMessageId, at }) =>
    updateOpen(state, roomId, (open) => room.retryPending(open, clientMessageId, at)),
  "read/sent": (state, { roomId, seq }) => updateOpen(state, roomId, (open) => ({ ...open, readUpTo: seq })),
  "read/failed": (state, { roomId }) => updateOpen(state, roomId, (open) => ({ ...open, readUpTo: 0 })),
  "read/marked": readMarked,
  "typing/changed": (state, { roomId, userId, userName, isTyping, until }) =>
    userId === meId(state)
      ? state
      : updateOpen(state, roomId, (open) => room.setTyping(open, { userId, userName, isTyping, until })),
  "typing/expired": (state, { roomId, userId, until }) =>
    updateOpen(state, roomId, (open) => room.expireTyping(open, userId, until)),
  "composer/replyTo": (state, { roomId, message }) =>
    updateComposer(state, roomId, (c) => ({ ...c, replyTo: message, editing: null })),
  "composer/edit": (state, { roomId, message }) =>
    updateComposer(state, roomId, () => ({ replyTo: null, editing: message, attachment: null })),
  "composer/reset": (state, { roomId }) =>
    updateComposer(state, roomId, (c) => ({ ...c, replyTo: null, editing: null })),
  "composer/attach": (state, { roomId, attachment }) =>
    updateComposer(state, roomId, (c) => ({ ...c, attachment })),
  "focus/shown": (state, { roomId, seq }) => ({
    ...updateOpen(
      state,
      roomId,
      (open) => ({ ...open, flash: { seq, count: (open.flash?.count ?? 0) + 1 } }),
    ),
    focus: null,
  }),
};

// ---- The open room -------------------------------------------------------------------------------

function meId(state) {
  return state.session?.user.id;
}

/** The state with the open room changed by `fn`, when `roomId` is the open room. */
function updateOpen(state, roomId, fn) {
  if (!state.open || state.open.roomId !== roomId) return state;
  const open = fn(state.open);
  return open === state.open ? state : { ...state, open };
}

function updateComposer(state, roomId, fn) {
  return updateOpen(state, roomId, (open) => ({ ...open, composer: fn(open.composer) }));
}

/** The newest page of the room just opened; loading it marked the room read on the server. */
function firstPage(state, { roomId, messages, hasMore }) {
  const next = updateOpen(state, roomId, (open) => ({
    ...room.insertMessages(open, messages, meId(state)),
    hasMore,
    loaded: true,
  }));
  const summary = summaryOf(next, roomId);
  if (next === state || !summary) return next;
  return {
    ...withSummary(next, { ...summary, unreadCount: 0 }),
    totalUnread: Math.max(0, state.totalUnread - summary.unreadCount),
  };
}

/** A message that arrived live (room channel or user channel) in the open room. */
function messageReceived(state, { message }) {
  const open = state.open;
  if (!open || open.roomId !== message.roomId || !open.loaded) return state; // the first page will have it
  const isNew = !open.messages.some((m) => m.seq === message.seq);
  let next = withLatest(
    updateOpen(state, open.roomId, (o) => room.insertMessages(o, [message], meId(state))),
    message,
  );
  if (isNew && message.senderId !== meId(state)) {
    next = announce(next, `${message.sender?.name ?? message.senderId}: ${previewText(message)}`);
    next = updateOpen(next, open.roomId, (o) => room.clearTyping(o, message.senderId));
  }
  return next;
}

/** The server took a send: its message replaces the pending one. */
function sendConfirmed(state, { roomId, message }) {
  return withLatest(
    updateOpen(state, roomId, (open) => room.insertMessages(open, [message], meId(state))),
    message,
  );
}

/** The room list's preview follows a message we saw. */
function withLatest(state, message) {
  const summary = summaryOf(state, message.roomId);
  if (!summary) return state;
  const latest = withPreview(summary, message);
  return latest === summary ? state : withSummary(state, latest);
}

/** `POST /api/chat/read` answered with the room's unread count. */
function readMarked(state, { roomId, unreadCount }) {
  const summary = summaryOf(state, roomId);
  if (!summary || typeof unreadCount !== "number") return state;
  return {
    ...withSummary(state, { ...summary, unreadCount }),
    totalUnread: Math.max(0, state.totalUnread - (summary.unreadCount - unreadCount)),
  };
}

// ---- Rooms ---------------------------------------------------------------------------------------

function roomsLoaded(state, { rooms: list, totalUnread, archived }) {
  // A list asked for before the archived toggle changed is not the list on screen.
  if (archived !== state.rooms.showArchived) return state;
  const byId = { ...state.rooms.byId };
  for (const summary of list) byId[summary.id] = summary;
  return {
    ...state,
    rooms: { ...state.rooms, byId, ids: list.map((r) => r.id), loaded: true },
    totalUnread,
  };
}

function roomArchived(state, { roomId, archived }) {
  const summary = state.rooms.byId[roomId];
  if (!summary) return state;
  const next = withSummary(state, { ...summary, archived });
  // Unarchiving the open room takes the list back to the active chats, where it now is.
  return archived ? next : { ...next, rooms: { ...next.rooms, showArchived: false } };
}

function userNewMessage(state, { roomId, message, unreadCount, totalUnread }) {
  let next = state;
  const summary = listedRoom(state, roomId);
  if (summary && message) {
    next = withSummary(next, {
      ...withPreview(summary, message),
      unreadCount: unreadCount ?? summary.unreadCount + 1,
    });
  }
  if (typeof totalUnread === "number") next = { ...next, totalUnread };
  if (message && state.open?.roomId !== roomId) {
    next = announce(
      next,
      `New message from ${message.sender?.name ?? message.senderId}: ${previewText(message)}`,
    );
  }
  return next;
}

/** The summary with `message` as its newest message, unless it already has a newer one. */
function withPreview(summary, message) {
  if (message.seq < (summary.lastSeq ?? 0)) return summary;
  return {
    ...summary,
    lastSeq: message.seq,
    lastMessage: previewLine(message),
    lastMessageId: message.id,
    lastMessageSenderId: message.senderId,
    lastMessageAt: message.createdAt,
  };
}

/** The state with one room summary replaced. */
function withSummary(state, summary) {
  return { ...state, rooms: { ...state.rooms, byId: { ...state.rooms.byId, [summary.id]: summary } } };
}

function withProfile(state, userId, fn) {
  return state.profile?.userId === userId ? { ...state, profile: fn(state.profile) } : state;
}

/** The state with one more screen-reader announcement. */
function announce(state, text) {
  const { next, items } = state.announcements;
  return {
    ...state,
    announcements: { next: next + 1, items: [...items, { id: next, text }].slice(-MAX_ANNOUNCEMENTS) },
  };
}

/** @returns {OpenRoom} */
function emptyRoom(roomId, visit) {
  return {
    roomId,
    visit,
    messages: [],
    lastSeq: 0,
    pending: [],
    loaded: false,
    hasMore: false,
    loadingOlder: false,
    readSeqs: {},
    readUpTo: 0,
    typing: {},
    composer: { replyTo: null, editing: null, attachment: null },
    flash: null,
  };
}

// ---- Selectors -----------------------------------------------------------------------------------

/** The signed-in user. */
export function me(state) {
  return state.session?.user ?? null;
}

/** A room's summary: from the list on screen, or from an earlier list (an archived room). */
export function summaryOf(state, roomId) {
  return roomId ? state.rooms.byId[roomId] : undefined;
}

/** A room's summary when it is in the list on screen. */
export function listedRoom(state, roomId) {
  return state.rooms.ids.includes(roomId) ? state.rooms.byId[roomId] : undefined;
}

/** The rooms of the list, most recent first. */
export function sortedRooms(state) {
  const at = (r) => Date.parse(r.lastMessageAt ?? r.createdAt ?? 0) || 0;
  return state.rooms.ids.map((id) => state.rooms.byId[id]).sort((a, b) => at(b) - at(a));
}

/** The other member of a direct room. */
export function peerOf(state, room) {
  if (room?.type !== "DIRECT") return undefined;
  return room.participants?.find((p) => p.id !== me(state)?.id);
}

/** A message of the open room by id. */
export function messageById(open, messageId) {
  return open?.messages.find((m) => m.id === messageId);
}

/** A message of the open room by seq. */
export function messageBySeq(open, seq) {
  return open?.messages.find((m) => m.seq === seq);
}

/** The newest message of the open room that someone else sent. */
export function newestFromOthers(state) {
  const mine = me(state)?.id;
  return state.open?.messages.findLast((m) => m.senderId !== mine);
}

/** The user's own newest text message in the open room (ArrowUp edits it). */
export function lastOwnText(state) {
  const mine = me(state)?.id;
  return state.open?.messages.findLast((m) => m.senderId === mine && m.type === "text");
}

/** Who is typing in the open room, by name. */
export function typingNames(open) {
  return Object.values(open?.typing ?? {}).map((t) => t.name);
}
