/**
 * @module Keeps the store in step with the server through the client SDK (client/): the room
 * list, message pages, the open room's messages (the SDK's `onMessage`: each once, in `seq` order,
 * gaps filled after every reconnect, pages while realtime is down), its other events, sends shown as
 * pending until confirmed (the SDK retries them with the same `clientMessageId`), read positions,
 * typing expiry, and polling the room list while realtime is down. Views call its commands.
 */
import { messageBySeq, newestFromOthers, summaryOf } from "./store.js";
import { routeEvents } from "./sync_events.js";

/** Messages per page of history. */
const PAGE_SIZE = 30;
const POLL_MS = 5000;
const READ_DELAY_MS = 250;
/** How far back a search result is looked for before giving up. */
const MAX_FOCUS_PAGES = 10;

/**
 * The sync layer of one client. Views call its commands (load, open, close, page back, send,
 * retry, edit, react, remove, archive, reveal a search result, mark read); `start()`/`stop()`
 * bracket a session, whose realtime events come in through the SDK's listeners.
 * @param {{
 *   store: ReturnType<typeof import("./store.js").createStore>,
 *   chat: import("../client/chat_client.ts").ChatClient,
 *   notify?: (text: string, kind?: string) => void,
 *   visible?: () => boolean,
 *   onRoomLost?: (roomId: string) => void,
 * }} options `chat` is the session's SDK client; `notify` shows a short message; `visible` says
 * whether the open room is on screen (read positions move only then); `onRoomLost` runs when the
 * room being opened cannot be (not a member, not found).
 */
export function createSync(options) {
  const { store, chat, notify = () => {}, visible = () => true, onRoomLost = () => {} } = options;
  const state = () => store.getState();
  const dispatch = (action) => store.dispatch(action);
  const myId = () => state().session?.user.id;
  /** Whether the room opened as `visit` is still the open one. */
  const current = (visit) => state().open?.visit === visit;

  let pollTimer = 0;
  let readTimer = 0;
  let connected = false;
  let userSubscribed = false;
  /** Stops the session's listeners (user channel, connection state). */
  let stopSession = () => {};
  /** The stop functions of the open room's listeners (its events, then its messages). */
  const roomListeners = [];
  /** The room list load in flight; `again` asks it to run once more. */
  let roomsLoad = null;
  const events = routeEvents({
    store,
    notify,
    loadRooms: () => loadRooms(),
    loadNotifications: () => loadNotifications(),
    refreshMessage: (message) => refreshMessage(message),
    rejoinRoom: (roomId) => rejoinRoom(roomId),
  });

  /** Listens to the user's channel and the connection, and polls the room list while realtime is down. */
  function start() {
    stop();
    pollTimer = setInterval(poll, POLL_MS);
    dispatch({ type: "connection/changed", state: "connecting" });
    const stopState = chat.onConnectionState((s) => {
      connected = s === "connected";
      dispatch({ type: "connection/changed", state: s });
    });
    const stopUser = chat.onUserEvent((name, data) => events.onUserEvent(name, data), {
      onSubscribed: () => {
        // The first subscription is the start, which loads everything anyway.
        if (userSubscribed) {
          loadRooms();
          loadNotifications();
        }
        userSubscribed = true;
      },
    });
    stopSession = () => {
      stopState();
      stopUser();
    };
  }

  /** Stops listening and every timer (sign out). */
  function stop() {
    stopSession();
    stopSession = () => {};
    stopRoom();
    connected = false;
    userSubscribed = false;
    clearInterval(pollTimer);
    clearTimeout(readTimer);
    events.stop();
  }

  /** While events are not flowing, fetch the room list every few seconds (the open room's messages page by themselves). */
  function poll() {
    if (state().session && !connected) loadRooms();
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
          const res = await chat.rooms({ archived: archived ? "true" : "false", limit: 100 });
          if (state().session !== session) return;
          dispatch({ type: "rooms/loaded", rooms: res.rooms, totalUnread: res.totalUnread, archived });
        } while (run.again && state().session === session);
      } catch (err) {
        if (err?.name === "ChatClosedError") return; // signed out meanwhile
        if (err?.status === undefined) console.error("rooms:", err);
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
      const res = await chat.notifications({ limit: 50 });
      dispatch({
        type: "notifications/loaded",
        items: res.notifications ?? [],
        unreadCount: res.unreadCount,
      });
    } catch {
      // Not available on this server (yet).
    }
  }

  /**
   * Opens a room: its events from now on (typing, edits, receipts: the channel is subscribed while the
   * page loads), its newest page (which marks it read), then every later message, once each, in order.
   */
  async function openRoom(roomId) {
    stopRoom();
    dispatch({ type: "room/opened", roomId });
    const { visit } = state().open;
    roomListeners.push(listenToEvents(roomId, visit));
    try {
      const res = await chat.messages(roomId, { limit: PAGE_SIZE });
      if (!current(visit)) return;
      const known = summaryOf(state(), roomId) !== undefined;
      dispatch({ type: "messages/firstPage", roomId, messages: res.messages, hasMore: res.hasMore });
      roomListeners.push(listenToMessages(roomId, visit));
      if (!known) await loadRooms();
      if (state().focus?.roomId === roomId) await reveal();
    } catch (err) {
      if (!current(visit)) return;
      lost(roomId, err);
    }
  }

  /** The open room's events except its messages; returns the function that stops listening. */
  function listenToEvents(roomId, visit) {
    return chat.onRoomEvent(
      roomId,
      (name, data) => current(visit) && events.onRoomEvent(roomId, name, data),
      // Read receipts may have changed while we were not listening (the first page has them the first time).
      { onSubscribed: () => current(visit) && state().open.loaded && refreshReceipts(), onEnd: () => {} },
    );
  }

  /** The open room's messages after those shown, once each and in order; returns the function that stops it. */
  function listenToMessages(roomId, visit) {
    return chat.onMessage(roomId, (message) => current(visit) && receive(message), {
      afterSeq: state().open.lastSeq,
      onError: (err) => console.warn("messages:", err),
      onEnd: (err) => current(visit) && lost(roomId, err),
    });
  }

  /** The open room cannot be shown (never a member, or no longer): say why and leave it. */
  function lost(roomId, err) {
    notify(err?.status === 403 ? "You are not a member of that room" : err?.message ?? String(err), "error");
    onRoomLost(roomId);
  }

  /**
   * Listens to the open room afresh, e.g. after being added back to it: the server dropped the old
   * subscription when we were removed, and pusher-js does not know.
   */
  function rejoinRoom(roomId) {
    const open = state().open;
    if (open?.roomId !== roomId || !open.loaded) return;
    stopRoom();
    roomListeners.push(listenToEvents(roomId, open.visit), listenToMessages(roomId, open.visit));
  }

  /** Stops listening to the open room. */
  function stopRoom() {
    for (const stopListening of roomListeners.splice(0)) stopListening();
  }

  function closeRoom() {
    stopRoom();
    dispatch({ type: "room/closed" });
  }

  /** Loads the page of messages before the oldest one shown. */
  async function loadOlder() {
    const open = state().open;
    const oldest = open?.messages[0];
    if (!open || !open.hasMore || open.loadingOlder || !oldest) return;
    const { roomId, visit } = open;
    dispatch({ type: "messages/loadingOlder", roomId, loading: true });
    try {
      const res = await chat.messages(roomId, { limit: PAGE_SIZE, beforeId: oldest.id });
      if (current(visit)) {
        dispatch({ type: "messages/olderPage", roomId, messages: res.messages, hasMore: res.hasMore });
      }
    } catch (err) {
      notify(err.message, "error");
      if (current(visit)) dispatch({ type: "messages/loadingOlder", roomId, loading: false });
    }
  }

  /** Read receipts may have changed while we were not listening: take the newest page's. */
  async function refreshReceipts() {
    const { roomId, visit } = state().open;
    try {
      const res = await chat.messages(roomId, { limit: PAGE_SIZE });
      if (current(visit)) dispatch({ type: "receipts/refreshed", roomId, messages: res.messages });
    } catch {
      // The next event or reconnect catches up.
    }
  }

  /** The open room's next message, from the SDK: each once, in seq order. */
  function receive(message) {
    const isNew = !messageBySeq(state().open, message.seq);
    dispatch({ type: "message/received", message });
    if (isNew && message.senderId !== myId()) markReadSoon();
  }

  /** Fetches one message again (after an event that did not carry enough of it). */
  async function refreshMessage(message) {
    const { roomId, visit } = state().open;
    try {
      const res = await chat.messages(roomId, { afterSeq: message.seq - 1, limit: 1 });
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
      const res = await chat.read(roomId, { messageIds: [newest.id] });
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
      const retryAfter = err.retryAfterMs === undefined ? "a few" : Math.ceil(err.retryAfterMs / 1000);
      notify(
        err.status === 429 ? `Slow down: you can send again in ${retryAfter} seconds` : err.message,
        "error",
      );
    }
  }

  /** Edits one of the user's messages. @throws {ChatApiError} */
  async function edit(target, content) {
    const { message } = await chat.editMessage(target.id, content);
    dispatch({ type: "message/replaced", roomId: target.roomId, message });
  }

  /** Toggles the user's reaction on a message. @throws {ChatApiError} */
  async function react(message, emoji) {
    const res = await chat.toggleReaction(message.id, emoji);
    dispatch({ type: "message/replaced", roomId: message.roomId, message: res.message });
  }

  /** Deletes a message for everyone. @throws {ChatApiError} */
  async function remove(message) {
    await chat.deleteMessage(message.id);
    dispatch({ type: "message/removed", roomId: message.roomId, messageId: message.id });
  }

  /** Archives or unarchives a room for the user. @throws {ChatApiError} */
  async function archive(roomId, archived) {
    await chat.archiveRoom(roomId, archived);
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
    reveal,
    markReadSoon,
    send,
    retry,
    edit,
    react,
    remove,
    archive,
  };
}
