/**
 * @module Keeps the store in step with the server: the room list, message pages, gap filling with
 * `afterSeq` after every (re)subscription and whenever a live message skips seqs, sends shown as
 * pending until confirmed, read positions, typing expiry, and polling while realtime is down. The
 * realtime connection (web/live.js) feeds its events in here; views call its commands.
 */
import { ApiError } from "./api.js";
import { listedRoom, messageById, messageBySeq, newestFromOthers, skipsAhead, summaryOf } from "./store.js";
import { routeEvents } from "./sync_events.js";

/** Messages per page of history. */
const PAGE_SIZE = 30;
/** Messages per `afterSeq` request while filling a gap (the API's maximum). */
const GAP_PAGE = 100;
const POLL_MS = 5000;
const READ_DELAY_MS = 250;
/** How far back a search result is looked for before giving up. */
const MAX_FOCUS_PAGES = 10;

/**
 * @typedef {{
 *   start(): Promise<void>, stop(): void, watchRoom(roomId: string | null): void,
 *   rejoinRoom(roomId: string): void, readonly connected: boolean,
 * }} Realtime
 * @typedef {{
 *   onUserEvent(name: string, data: any): void, onRoomEvent(roomId: string, name: string, data: any): void,
 *   onResync(roomId: string | null): void, onState(state: string): void,
 * }} RealtimeHandlers
 */

/**
 * The sync layer of one client. Views call its commands (load, open, close, page back, send,
 * retry, edit, react, remove, archive, reveal a search result, mark read); the realtime
 * connection feeds `onUserEvent`, `onRoomEvent` and `resync`; `start()`/`stop()` bracket a session.
 * @param {{
 *   store: ReturnType<typeof import("./store.js").createStore>,
 *   chat: ReturnType<typeof import("./chat_api.js").chatApi>,
 *   connect?: (handlers: RealtimeHandlers) => Realtime,
 *   notify?: (text: string, kind?: string) => void,
 *   visible?: () => boolean,
 *   onRoomLost?: (roomId: string) => void,
 * }} options `connect` opens the realtime connection (none: poll only); `notify` shows a short
 * message; `visible` says whether the open room is on screen (read positions move only then);
 * `onRoomLost` runs when the room being opened cannot be (not a member, not found).
 */
export function createSync(options) {
  const { store, chat, connect, notify = () => {}, visible = () => true, onRoomLost = () => {} } = options;
  const state = () => store.getState();
  const dispatch = (action) => store.dispatch(action);
  const myId = () => state().session?.user.id;
  /** Whether the room opened as `visit` is still the open one. */
  const current = (visit) => state().open?.visit === visit;

  /** @type {Realtime | null} */
  let live = null;
  let pollTimer = 0;
  let readTimer = 0;
  let userSubscribed = false;
  /** The room list load in flight; `again` asks it to run once more. */
  let roomsLoad = null;
  /** The gap fill in flight, for one visit of a room; `again` asks it to run once more. */
  let fill = null;
  const events = routeEvents({
    store,
    notify,
    loadRooms: () => loadRooms(),
    loadNotifications: () => loadNotifications(),
    fillGap: () => fillGap(),
    receive: (message) => receive(message),
    refreshMessage: (message) => refreshMessage(message),
    rejoinRoom: (roomId) => live?.rejoinRoom(roomId),
  });

  /** Connects realtime (when there is a `connect`) and starts polling for when it is down. */
  async function start() {
    stop();
    pollTimer = setInterval(poll, POLL_MS);
    if (!connect) return;
    const connection = connect(guarded(() => live === connection));
    live = connection;
    dispatch({ type: "connection/changed", state: "connecting" });
    try {
      await connection.start();
      if (live === connection && state().open) connection.watchRoom(state().open.roomId);
    } catch (err) {
      if (live !== connection) return;
      console.warn("realtime unavailable:", err);
      dispatch({ type: "connection/changed", state: "failed", label: "Polling" });
    }
  }

  /** Disconnects and stops every timer (sign out). */
  function stop() {
    live?.stop();
    live = null;
    userSubscribed = false;
    clearInterval(pollTimer);
    clearTimeout(readTimer);
    events.stop();
  }

  /** Realtime handlers that do nothing once their connection is no longer ours. */
  function guarded(isOurs) {
    return {
      onState: (s) => isOurs() && dispatch({ type: "connection/changed", state: s }),
      onUserEvent: (name, data) => isOurs() && events.onUserEvent(name, data),
      onRoomEvent: (roomId, name, data) => isOurs() && events.onRoomEvent(roomId, name, data),
      onResync: (roomId) => isOurs() && resync(roomId),
    };
  }

  /** While events are not flowing, fetch what changed every few seconds. */
  function poll() {
    if (!state().session || live?.connected) return;
    loadRooms();
    if (state().open?.loaded) fillGap();
  }

  /**
   * Reloads the room list. Calls made while a load is in flight share it, and it runs once more
   * at the end, so a change that happened after its request started is never lost.
   */
  function loadRooms() {
    if (roomsLoad) {
      roomsLoad.again = true;
      return roomsLoad.promise;
    }
    const run = { again: false, promise: Promise.resolve() };
    roomsLoad = run;
    run.promise = (async () => {
      const session = state().session;
      try {
        do {
          run.again = false;
          const archived = state().rooms.showArchived;
          const res = await chat.rooms({ archived });
          if (state().session !== session) return;
          dispatch({ type: "rooms/loaded", rooms: res.rooms, totalUnread: res.totalUnread, archived });
          const open = state().open;
          const summary = open && listedRoom(state(), open.roomId);
          if (summary && open.loaded && summary.lastSeq > open.lastSeq) fillGap();
        } while (run.again && state().session === session);
      } catch (err) {
        if (!(err instanceof ApiError)) console.error("rooms:", err);
        else if (err.status !== 401) console.warn("rooms:", err.message);
      } finally {
        if (roomsLoad === run) roomsLoad = null;
      }
    })();
    return run.promise;
  }

  /** Reloads the notifications; a server without them leaves the bell quiet. */
  async function loadNotifications() {
    try {
      const res = await chat.notifications();
      dispatch({
        type: "notifications/loaded",
        items: res.notifications ?? [],
        unreadCount: res.unreadCount,
      });
    } catch {
      // Not available on this server (yet).
    }
  }

  /** Opens a room: its newest page (which marks it read), its channel, then anything newer. */
  async function openRoom(roomId) {
    dispatch({ type: "room/opened", roomId });
    const { visit } = state().open;
    live?.watchRoom(roomId);
    try {
      const res = await chat.messages({ roomId, limit: PAGE_SIZE });
      if (!current(visit)) return;
      const known = summaryOf(state(), roomId) !== undefined;
      dispatch({ type: "messages/firstPage", roomId, messages: res.messages, hasMore: res.hasMore });
      if (!known) await loadRooms();
      fillGap(); // anything that arrived between the page and the subscription
      if (state().focus?.roomId === roomId) await reveal();
    } catch (err) {
      if (!current(visit)) return;
      notify(
        err instanceof ApiError && err.status === 403 ? "You are not a member of that room" : err.message,
        "error",
      );
      onRoomLost(roomId);
    }
  }

  function closeRoom() {
    dispatch({ type: "room/closed" });
    live?.watchRoom(null);
  }

  /** Loads the page of messages before the oldest one shown. */
  async function loadOlder() {
    const open = state().open;
    const oldest = open?.messages[0];
    if (!open || !open.hasMore || open.loadingOlder || !oldest) return;
    const { roomId, visit } = open;
    dispatch({ type: "messages/loadingOlder", roomId, loading: true });
    try {
      const res = await chat.messages({ roomId, limit: PAGE_SIZE, beforeId: oldest.id });
      if (current(visit)) {
        dispatch({ type: "messages/olderPage", roomId, messages: res.messages, hasMore: res.hasMore });
      }
    } catch (err) {
      notify(err.message, "error");
      if (current(visit)) dispatch({ type: "messages/loadingOlder", roomId, loading: false });
    }
  }

  /**
   * Fetches every message after the newest one we have (`afterSeq`), oldest first, until none
   * remain. A call while a fill runs makes it run once more instead of fetching in parallel, so
   * each message is fetched from where the previous page ended.
   */
  async function fillGap() {
    const open = state().open;
    if (!open?.loaded) return;
    const { roomId, visit } = open;
    if (fill?.visit === visit) {
      fill.again = true;
      return;
    }
    const run = { visit, again: false };
    fill = run;
    try {
      do {
        run.again = false;
        for (let more = true; more && current(visit);) {
          const res = await chat.messages({ roomId, afterSeq: state().open.lastSeq, limit: GAP_PAGE });
          if (!current(visit)) break;
          dispatch({ type: "messages/filled", roomId, messages: res.messages });
          more = res.hasMore && res.messages.length > 0;
        }
      } while (run.again && current(visit));
      markReadSoon();
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 0) console.warn("gap fill failed", err);
    } finally {
      if (fill === run) fill = null;
    }
  }

  /** After a (re)subscription: fetch what may have happened while we were not listening. */
  function resync(roomId) {
    if (roomId === null) {
      // The first subscription is the start, which loads everything anyway.
      if (userSubscribed) {
        loadRooms();
        loadNotifications();
      }
      userSubscribed = true;
    } else if (state().open?.roomId === roomId && state().open.loaded) {
      fillGap();
      refreshReceipts();
    }
  }

  /** Read receipts may have changed while we were not listening: take the newest page's. */
  async function refreshReceipts() {
    const { roomId, visit } = state().open;
    try {
      const res = await chat.messages({ roomId, limit: PAGE_SIZE });
      if (current(visit)) dispatch({ type: "receipts/refreshed", roomId, messages: res.messages });
    } catch {
      // The next event or resync catches up.
    }
  }

  /** A message that arrived live for the open room (room channel or user channel). */
  function receive(message) {
    const open = state().open;
    if (!open || message.roomId !== open.roomId || !open.loaded) return; // the first page will have it
    // Something came before it that we did not see: fetch the gap (it includes this one).
    if (skipsAhead(open, message)) return void fillGap();
    const isNew = !messageBySeq(open, message.seq);
    dispatch({ type: "message/received", message });
    if (isNew && message.senderId !== myId()) markReadSoon();
  }

  /** Fetches one message again (after an event that did not carry enough of it). */
  async function refreshMessage(message) {
    const { roomId, visit } = state().open;
    try {
      const res = await chat.messages({ roomId, afterSeq: message.seq - 1, limit: 1 });
      if (!current(visit)) return;
      const fresh = res.messages[0];
      if (fresh?.seq === message.seq) dispatch({ type: "message/replaced", roomId, message: fresh });
      else dispatch({ type: "message/removed", roomId, messageId: message.id });
    } catch (err) {
      console.warn("message refresh failed", err);
    }
  }

  /** Tells the server we have seen the newest message, when the room is on screen. */
  function markReadSoon() {
    clearTimeout(readTimer);
    readTimer = setTimeout(markRead, READ_DELAY_MS);
  }

  async function markRead() {
    const open = state().open;
    const newest = newestFromOthers(state());
    if (!open || !visible() || !newest || open.readUpTo >= newest.seq) return;
    const { roomId } = open;
    dispatch({ type: "read/sent", roomId, seq: newest.seq });
    try {
      const res = await chat.markRead(roomId, [newest.id]);
      dispatch({ type: "read/marked", roomId, unreadCount: res?.unreadCount });
    } catch (err) {
      dispatch({ type: "read/failed", roomId });
      console.warn("read:", err.message);
    }
  }

  /** Sends with a pending entry in the open room; the entry keeps the body for a retry. */
  function send(body) {
    const open = state().open;
    if (!open) return Promise.resolve();
    const { roomId, visit } = open;
    dispatch({ type: "send/started", roomId, clientMessageId: body.clientMessageId, body, at: Date.now() });
    return deliver(roomId, visit, body);
  }

  /** Sends a failed message again with its clientMessageId, so the server cannot take it twice. */
  function retry(clientMessageId) {
    const open = state().open;
    const entry = open?.pending.find((p) => p.clientMessageId === clientMessageId);
    if (!entry || entry.status !== "failed") return Promise.resolve();
    dispatch({ type: "send/retried", roomId: open.roomId, clientMessageId, at: Date.now() });
    return deliver(open.roomId, open.visit, entry.body);
  }

  async function deliver(roomId, visit, body) {
    try {
      const res = await chat.send(body);
      dispatch({ type: "send/confirmed", roomId, message: res.message });
    } catch (err) {
      if (!current(visit)) return;
      dispatch({ type: "send/failed", roomId, clientMessageId: body.clientMessageId });
      const retryAfter = err.headers?.get?.("Retry-After");
      notify(
        err.status === 429
          ? `Slow down: you can send again in ${retryAfter ?? "a few"} seconds`
          : err.message,
        "error",
      );
    }
  }

  /** Edits one of the user's messages. @throws {ApiError} */
  async function edit(target, content) {
    const res = await chat.edit(target.id, content);
    const message = res?.message ??
      { ...target, content, isEdited: true, editedAt: new Date().toISOString() };
    dispatch({ type: "message/replaced", roomId: target.roomId, message });
  }

  /** Toggles the user's reaction on a message. @throws {ApiError} */
  async function react(message, emoji) {
    const res = await chat.react(message.id, emoji);
    const known = messageById(state().open, message.id);
    if (res?.message) dispatch({ type: "message/replaced", roomId: message.roomId, message: res.message });
    else if (res?.reactions && known) {
      dispatch({
        type: "message/replaced",
        roomId: message.roomId,
        message: { ...known, reactions: res.reactions },
      });
    } else if (known) refreshMessage(known);
  }

  /** Deletes a message for everyone. @throws {ApiError} */
  async function remove(message) {
    await chat.remove(message.id);
    dispatch({ type: "message/removed", roomId: message.roomId, messageId: message.id });
  }

  /** Archives or unarchives a room for the user. @throws {ApiError} */
  async function archive(roomId, archived) {
    await chat.archive(roomId, archived);
    dispatch({ type: "room/archived", roomId, archived });
  }

  /** Scrolls to the searched message once its room is open, paging back until it is loaded. */
  async function reveal() {
    const focus = state().focus;
    const open = state().open;
    if (!focus || !open || focus.roomId !== open.roomId) return;
    const { visit } = open;
    const missing = () => current(visit) && !messageBySeq(state().open, focus.seq) && state().open.hasMore;
    for (let pages = 0; missing() && pages < MAX_FOCUS_PAGES; pages++) await loadOlder();
    if (current(visit)) dispatch({ type: "focus/shown", roomId: open.roomId, seq: focus.seq });
  }

  return {
    start,
    stop,
    loadRooms,
    loadNotifications,
    openRoom,
    closeRoom,
    loadOlder,
    resync,
    reveal,
    markReadSoon,
    send,
    retry,
    edit,
    react,
    remove,
    archive,
    onUserEvent: events.onUserEvent,
    onRoomEvent: events.onRoomEvent,
  };
}
