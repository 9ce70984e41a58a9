/**
 * @module The web client: sign-in, the room list, one open room with its history, the
 * composer, live events and the dialogs. Plain DOM, no framework, no build step.
 */
import {
  ApiError,
  clearSession,
  loadSession,
  query,
  request,
  saveSession,
  tokenClaims,
  whenUnauthorized,
} from "./api.js";
import { Live, STATES } from "./live.js";
import {
  avatar,
  clockTime,
  fileSize,
  fillIcons,
  fullTime,
  h,
  icon,
  isHttpUrl,
  shortTime,
  toast,
} from "./view.js";
import { previewLine, previewText } from "../common/preview.js";

const PAGE_SIZE = 30;
const REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🎉"];
const TYPING_SEND_EVERY_MS = 3000;
const TYPING_IDLE_MS = 4000;
const TYPING_SHOW_MS = 6000;
const POLL_MS = 5000;
const GROUP_GAP_MS = 5 * 60 * 1000;

const $ = (id) => document.getElementById(id);

/** Everything the client knows; the DOM is rendered from it. */
const state = {
  /** @type {{token: string, user: {id: string, name: string, avatar: string | null}} | null} */
  session: null,
  rooms: new Map(),
  /** Every room summary seen, so an open archived room keeps its name after the list changes. */
  known: new Map(),
  /** The list shows archived rooms instead of active ones. */
  showArchived: false,
  /** A message to scroll to once its room is open (a search result). */
  focusSeq: null,
  roomsLoaded: false,
  totalUnread: 0,
  /** @type {OpenRoom | null} */
  open: null,
  /** @type {Live | null} */
  live: null,
  notifications: [],
  notifUnread: 0,
  pollTimer: 0,
};

/** The room on screen: its messages by seq and their list items. */
class OpenRoom {
  constructor(id) {
    this.id = id;
    /** @type {Map<number, any>} */
    this.messages = new Map();
    /** @type {Map<number, HTMLLIElement>} */
    this.nodes = new Map();
    /** @type {Map<string, HTMLLIElement>} sends waiting for their seq, by clientMessageId */
    this.pending = new Map();
    this.lastSeq = 0;
    this.hasMore = false;
    this.loadingOlder = false;
    this.filling = false;
    this.refill = false;
    this.loaded = false;
    /** @type {Map<string, {name: string, timer: number}>} */
    this.typing = new Map();
    /** Highest seq each other member is known to have read (from `message-read`). */
    this.readSeqs = new Map();
    this.unseenBelow = 0;
    /** Whether the view follows the newest message (the user has not scrolled up). */
    this.pinned = true;
    this.replyTo = null;
    this.editing = null;
    this.attachment = null;
  }

  byId(messageId) {
    for (const m of this.messages.values()) if (m.id === messageId) return m;
    return undefined;
  }
}

function boot() {
  const session = loadSession();
  if (session) enterApp(session);
  else showLogin();
}

// ---- Sign in -------------------------------------------------------------------------------------

function showLogin() {
  $("app").hidden = true;
  $("login-screen").hidden = false;
  document.title = "Sign in · durable-chat";
  request("GET", "/healthz").then((health) => {
    if (health?.mode !== "demo") {
      $("login-hint").textContent =
        "This server verifies real tokens. Paste a JWT below, or sign in with dev login if it is enabled.";
      $("login-token-box").open = true;
    }
  }).catch(() => {});
  $("login-user").focus();
}

function wireLogin() {
  $("login-user").addEventListener("input", () => {
    const name = $("login-name");
    if (!name.dataset.touched) {
      const id = $("login-user").value.trim();
      name.value = id ? id.charAt(0).toUpperCase() + id.slice(1) : "";
    }
  });
  $("login-name").addEventListener("input", () => $("login-name").dataset.touched = "1");
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("login-error");
    error.textContent = "";
    const token = $("login-token").value.trim();
    const button = event.submitter ?? $("login-form").querySelector("button[type=submit]");
    button.disabled = true;
    try {
      if (token) {
        const claims = tokenClaims(token);
        await request("GET", "/api/chat/rooms?limit=1", undefined, { token });
        enterApp({
          token,
          user: { id: claims.sub, name: claims.name ?? claims.sub, avatar: claims.picture ?? null },
        });
        return;
      }
      const userId = $("login-user").value.trim();
      const name = $("login-name").value.trim() || userId;
      const avatarUrl = $("login-avatar").value.trim();
      if (!/^[A-Za-z0-9_\-=@,.;]{1,128}$/.test(userId)) {
        throw new Error("User id: use 1-128 letters, digits or _ - = @ , . ;");
      }
      if (avatarUrl && !isHttpUrl(avatarUrl)) {
        throw new Error("Avatar URL must start with http:// or https://");
      }
      const { token: fresh } = await request("POST", "/api/dev/login", {
        userId,
        name,
        ...(avatarUrl ? { avatar: avatarUrl } : {}),
      });
      enterApp({ token: fresh, user: { id: userId, name, avatar: avatarUrl || null } });
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 404
        ? "Dev login is off on this server: paste a token instead."
        : err instanceof ApiError && err.status === 401
        ? "That token was not accepted."
        : err.message;
    } finally {
      button.disabled = false;
    }
  });
}

function enterApp(session) {
  saveSession(session);
  state.session = session;
  $("login-screen").hidden = true;
  $("app").hidden = false;
  $("me-avatar").replaceChildren(avatar(session.user, "sm"));
  $("me-name").textContent = session.user.name;
  renderTitle();
  loadRooms().then(() => openFromHash());
  loadNotifications();
  startLive();
  clearInterval(state.pollTimer);
  state.pollTimer = setInterval(poll, POLL_MS);
}

function signOut() {
  state.live?.stop();
  state.live = null;
  clearInterval(state.pollTimer);
  clearSession();
  state.session = null;
  state.rooms.clear();
  state.known.clear();
  state.showArchived = false;
  state.roomsLoaded = false;
  $("search-input").value = "";
  $("search-view").hidden = true;
  $("rooms-view").hidden = false;
  closeRoom();
  history.replaceState(null, "", location.pathname);
  $("room-list").replaceChildren();
  showLogin();
}

// ---- Live events ---------------------------------------------------------------------------------

async function startLive() {
  const session = state.session;
  const live = new Live({
    token: session.token,
    userId: session.user.id,
    onState: (s) => renderConnection(s),
    onUserEvent: onUserEvent,
    onRoomEvent: onRoomEvent,
    onResync: onResync,
  });
  state.live = live;
  renderConnection("connecting");
  try {
    await live.start();
    if (state.open) live.watchRoom(state.open.id);
  } catch (err) {
    console.warn("realtime unavailable:", err);
    renderConnection("failed", "Polling");
  }
}

function renderConnection(s, label) {
  document.body.dataset.connection = s;
  const el = $("conn-status");
  el.textContent = label ?? STATES[s] ?? s;
  el.dataset.state = s;
}

/** While events are not flowing, fetch what changed every few seconds. */
function poll() {
  if (!state.session || state.live?.connected) return;
  loadRooms();
  if (state.open?.loaded) fillGap();
}

let resyncedUser = false;

/** After a (re)subscription, fetch what may have happened while we were away. */
function onResync(roomId) {
  if (roomId === null) {
    if (resyncedUser) {
      loadRooms();
      loadNotifications();
    }
    resyncedUser = true;
  } else if (state.open?.id === roomId && state.open.loaded) {
    fillGap();
    refreshReceipts();
  }
}

function onUserEvent(name, data) {
  switch (name) {
    case "new-message": {
      const message = data.message;
      const room = state.rooms.get(data.roomId);
      if (!room || !message) {
        loadRooms();
      } else {
        applyPreview(room, message);
        room.unreadCount = data.unreadCount ?? room.unreadCount + 1;
      }
      if (typeof data.totalUnread === "number") state.totalUnread = data.totalUnread;
      if (state.open?.id === data.roomId) {
        if (message) receiveMessage(message);
        else fillGap();
      } else if (message) {
        announce(`New message from ${message.sender?.name ?? message.senderId}: ${previewText(message)}`);
      }
      renderRooms();
      break;
    }
    case "unread-updated": {
      const room = state.rooms.get(data.roomId);
      if (room && typeof data.unreadCount === "number") room.unreadCount = data.unreadCount;
      if (typeof data.totalUnread === "number") state.totalUnread = data.totalUnread;
      renderRooms();
      break;
    }
    case "notification":
      if (data?.id && !state.notifications.some((n) => n.id === data.id)) {
        state.notifications.unshift(data);
        if (!data.isRead) state.notifUnread++;
        renderNotifBadge();
        if ($("notif-dialog").open) renderNotifications();
        toast(data.title ?? "New notification");
      } else if (!data?.title) loadNotifications();
      break;
    case "member-added":
      // Added back to the open room: its old subscription ended when we were removed.
      if (data?.userIds?.includes(state.session?.user.id)) state.live?.rejoinRoom(data.roomId);
      loadRooms();
      break;
    case "room-created":
    case "member-removed":
    case "room-updated":
    case "room-archived":
      // The room list changed.
      loadRooms();
      break;
    default:
      // Anything else (a newer server's event, a client event) is not ours to act on.
      break;
  }
}

function onRoomEvent(roomId, name, data) {
  const room = state.open;
  if (!room || room.id !== roomId) return;
  switch (name) {
    case "new-message":
      if (data.truncated) fillGap();
      else receiveMessage(data);
      break;
    case "message-updated":
    case "reaction-updated":
      applyUpdate(data);
      break;
    case "message-deleted": {
      const target = room.byId(data.messageId);
      if (target) removeMessage(target.seq);
      break;
    }
    case "message-read":
      applyRead(data);
      break;
    case "user-typing":
      applyTyping(data);
      break;
    case "member-added":
    case "member-removed":
    case "room-updated":
      loadRooms().then(renderHeader);
      break;
    default:
      // Unknown events, e.g. another member's `client-*` events, change nothing here: reloading
      // on them would let one member make every client of the room hammer the API.
      break;
  }
}

/** A message that arrived live (room channel, user channel or gap fill). */
function receiveMessage(message) {
  const room = state.open;
  if (!room || message.roomId !== room.id) return;
  if (!room.loaded) return; // the first page will include it
  if (message.seq > room.lastSeq + 1 && room.lastSeq > 0) {
    // Something came before it that we did not see: fetch the gap (it includes this one).
    fillGap();
    return;
  }
  const isNew = !room.messages.has(message.seq);
  insertMessage(message, { live: true });
  const summary = summaryOf(room.id);
  if (summary) {
    applyPreview(summary, message);
    renderRooms();
  }
  if (isNew && message.senderId !== me().id) {
    announce(`${message.sender?.name ?? message.senderId}: ${previewText(message)}`);
    clearTyping(message.senderId);
    markReadSoon();
  }
}

/** Fetches every message after the newest one we have (`afterSeq`), in order, without duplicates. */
async function fillGap() {
  const room = state.open;
  if (!room || !room.loaded) return;
  if (room.filling) {
    room.refill = true;
    return;
  }
  room.filling = true;
  try {
    do {
      room.refill = false;
      for (let more = true; more && state.open === room;) {
        const res = await request(
          "GET",
          `/api/chat/messages${query({ roomId: room.id, afterSeq: room.lastSeq, limit: 100 })}`,
        );
        for (const message of res.messages) insertMessage(message, { live: true });
        more = res.hasMore && res.messages.length > 0;
      }
    } while (room.refill && state.open === room);
    markReadSoon();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 0) console.warn("gap fill failed", err);
  } finally {
    room.filling = false;
  }
}

function applyUpdate(data) {
  const room = state.open;
  // Events name the message by id; their `seq` may be the room's event position, not the message's.
  const current = room.byId(data.message?.id ?? data.messageId);
  if (!current) return;
  if (data.message) return insertMessage({ ...current, ...data.message });
  if (data.truncated) return refreshMessage(current);
  if (typeof data.emoji === "string" && Array.isArray(data.userIds)) {
    const others = (current.reactions ?? []).filter((r) => r.emoji !== data.emoji);
    const reactions = data.userIds.length > 0
      ? [...others, { emoji: data.emoji, count: data.userIds.length, userIds: data.userIds }]
      : others;
    // Keep the emoji's place in the row when it is already there.
    const order = (current.reactions ?? []).map((r) => r.emoji);
    reactions.sort((a, b) => rank(order, a.emoji) - rank(order, b.emoji));
    return insertMessage({ ...current, reactions });
  }
  const patch = {};
  for (const key of ["content", "isEdited", "editedAt", "reactions"]) if (key in data) patch[key] = data[key];
  if (Object.keys(patch).length > 0) insertMessage({ ...current, ...patch });
  else refreshMessage(current);
}

function rank(order, emoji) {
  const i = order.indexOf(emoji);
  return i === -1 ? order.length : i;
}

/** Reloads one message by seq (after an event that did not carry it). */
async function refreshMessage(message) {
  const room = state.open;
  const res = await request(
    "GET",
    `/api/chat/messages${query({ roomId: room.id, afterSeq: message.seq - 1, limit: 1 })}`,
  );
  if (state.open !== room) return;
  const fresh = res.messages[0];
  if (fresh?.seq === message.seq) insertMessage(fresh);
  else removeMessage(message.seq);
}

function applyRead(data) {
  const room = state.open;
  const summary = summaryOf(room.id);
  if (data.readBy === me().id) return;
  room.readSeqs.set(data.readBy, Math.max(room.readSeqs.get(data.readBy) ?? 0, data.seq));
  const others = (summary?.participants ?? []).filter((p) => p.id !== me().id).map((p) => p.id);
  for (const message of room.messages.values()) {
    if (message.senderId !== me().id || message.isRead || message.seq > data.seq) continue;
    const readByAll = summary?.type === "GROUP"
      ? others.every((id) => id === message.senderId || (room.readSeqs.get(id) ?? 0) >= message.seq)
      : true;
    if (readByAll) {
      message.isRead = true;
      message.readAt = data.readAt;
      renderReceipt(message);
    }
  }
}

function applyTyping({ userId, userName, isTyping }) {
  const room = state.open;
  if (!room || userId === me().id) return;
  clearTimeout(room.typing.get(userId)?.timer);
  if (isTyping) {
    const timer = setTimeout(() => clearTyping(userId), TYPING_SHOW_MS);
    room.typing.set(userId, { name: userName ?? userId, timer });
  } else room.typing.delete(userId);
  renderTyping();
}

function clearTyping(userId) {
  const room = state.open;
  if (!room?.typing.has(userId)) return;
  clearTimeout(room.typing.get(userId).timer);
  room.typing.delete(userId);
  renderTyping();
}

function renderTyping() {
  const names = [...(state.open?.typing.values() ?? [])].map((t) => t.name);
  const el = $("typing");
  if (names.length === 0) {
    el.replaceChildren();
    el.classList.remove("active");
    return;
  }
  const text = names.length === 1
    ? `${names[0]} is typing`
    : names.length === 2
    ? `${names[0]} and ${names[1]} are typing`
    : "Several people are typing";
  el.replaceChildren(
    h("span", { className: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")),
    text + "…",
  );
  el.classList.add("active");
}

// ---- Rooms ---------------------------------------------------------------------------------------

/** A room's summary from the list on screen, or from an earlier list (an archived room). */
function summaryOf(roomId) {
  return state.rooms.get(roomId) ?? state.known.get(roomId);
}

let roomsRequest = null;
let roomsAgain = false;

/**
 * Reloads the room list. Calls made while a load is in flight share it, and it runs once
 * more at the end, so a change that happened after its request started is never lost.
 */
function loadRooms() {
  if (roomsRequest) {
    roomsAgain = true;
    return roomsRequest;
  }
  roomsRequest = (async () => {
    try {
      do {
        roomsAgain = false;
        const archived = state.showArchived ? "&archived=true" : "";
        const res = await request("GET", `/api/chat/rooms?limit=100${archived}`);
        state.rooms = new Map(res.rooms.map((r) => [r.id, r]));
        for (const r of res.rooms) state.known.set(r.id, r);
        state.totalUnread = res.totalUnread;
        state.roomsLoaded = true;
        if (state.open && state.rooms.has(state.open.id)) {
          const open = summaryOf(state.open.id);
          if (open.lastSeq > state.open.lastSeq && state.open.loaded) fillGap();
        }
        renderRooms();
      } while (roomsAgain && state.session);
    } catch (err) {
      if (err instanceof ApiError && err.status !== 401) console.warn("rooms:", err.message);
    } finally {
      roomsRequest = null;
    }
  })();
  return roomsRequest;
}

function sortedRooms() {
  const at = (r) => Date.parse(r.lastMessageAt ?? r.createdAt ?? 0) || 0;
  return [...state.rooms.values()].sort((a, b) => at(b) - at(a));
}

function renderRooms() {
  const list = $("room-list");
  const focusedId = document.activeElement?.closest?.(".room")?.dataset.roomId;
  const items = sortedRooms().map((room) => {
    const isOpen = state.open?.id === room.id;
    const unread = isOpen ? 0 : room.unreadCount;
    const peer = peerOf(room);
    const mine = room.lastMessageSenderId === me().id;
    const preview = room.lastMessage === null || room.lastMessage === undefined
      ? (room.type === "GROUP" ? "New group" : "No messages yet")
      : `${mine ? "You: " : ""}${room.lastMessage}`;
    const label = [
      room.name,
      unread > 0 ? `${unread} unread` : null,
      room.lastMessage ? `last message: ${preview}` : null,
    ].filter(Boolean).join(", ");
    return h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          className: `room${unread > 0 ? " unread" : ""}${isOpen ? " active" : ""}`,
          "data-room-id": room.id,
          "aria-current": isOpen ? "true" : null,
          "aria-label": label,
          onclick: () => navigateToRoom(room.id),
        },
        avatar({ ...room, id: peer?.id ?? room.id }, "md", peer?.online),
        h(
          "span",
          { className: "room-text" },
          h(
            "span",
            { className: "room-line" },
            h("span", { className: "room-name" }, room.name),
            h(
              "time",
              { className: "room-time", dateTime: room.lastMessageAt ?? "" },
              shortTime(room.lastMessageAt),
            ),
          ),
          h(
            "span",
            { className: "room-line" },
            h("span", { className: "room-preview" }, preview),
            unread > 0
              ? h("span", { className: "badge", "data-unread": unread }, unread > 99 ? "99+" : unread)
              : null,
          ),
        ),
      ),
    );
  });
  list.replaceChildren(...items);
  $("rooms-empty").hidden = !state.roomsLoaded || items.length > 0;
  $("rooms-empty").textContent = state.showArchived
    ? "No archived chats."
    : "No conversations yet. Start one with “New chat”.";
  $("rooms-title").textContent = state.showArchived ? "Archived" : "Chats";
  $("archived-toggle").setAttribute("aria-pressed", String(state.showArchived));
  $("archived-toggle-text").textContent = state.showArchived ? "Back to chats" : "Archived chats";
  if (focusedId) list.querySelector(`[data-room-id="${CSS.escape(focusedId)}"]`)?.focus();
  const total = $("total-unread");
  total.hidden = state.totalUnread <= 0;
  total.textContent = String(state.totalUnread);
  total.setAttribute("aria-label", `${state.totalUnread} unread`);
  renderTitle();
}

function renderTitle() {
  const base = state.open ? `${summaryOf(state.open.id)?.name ?? "Chat"} · durable-chat` : "durable-chat";
  document.title = state.totalUnread > 0 ? `(${state.totalUnread}) ${base}` : base;
}

/** Keeps a room-list entry's preview in step with a message we saw. */
function applyPreview(room, message) {
  if (message.seq < (room.lastSeq ?? 0)) return;
  room.lastSeq = message.seq;
  room.lastMessage = previewLine(message);
  room.lastMessageId = message.id;
  room.lastMessageSenderId = message.senderId;
  room.lastMessageAt = message.createdAt;
}

function peerOf(room) {
  if (room.type !== "DIRECT") return undefined;
  return room.participants?.find((p) => p.id !== me().id);
}

function me() {
  return state.session.user;
}

// ---- Navigation ----------------------------------------------------------------------------------

function navigateToRoom(roomId) {
  if (location.hash !== `#room=${encodeURIComponent(roomId)}`) {
    location.hash = `room=${encodeURIComponent(roomId)}`;
  } else openRoom(roomId);
}

function openFromHash() {
  const match = /^#room=(.+)$/.exec(location.hash);
  const roomId = match ? decodeURIComponent(match[1]) : null;
  if (roomId && roomId !== state.open?.id) openRoom(roomId);
  if (!roomId && state.open) closeRoom();
}

function closeRoom() {
  stopTyping();
  state.open = null;
  state.live?.watchRoom(null);
  document.body.classList.remove("show-chat");
  $("chat-room").hidden = true;
  $("chat-empty").hidden = false;
  renderRooms();
}

async function openRoom(roomId) {
  stopTyping();
  const room = new OpenRoom(roomId);
  state.open = room;
  document.body.classList.add("show-chat");
  $("chat-empty").hidden = true;
  $("chat-room").hidden = false;
  $("message-list").replaceChildren();
  $("older-button").hidden = true;
  $("history-start").hidden = true;
  $("jump-button").hidden = true;
  resetComposer();
  renderTyping();
  renderHeader();
  state.live?.watchRoom(roomId);
  try {
    const res = await request("GET", `/api/chat/messages${query({ roomId, limit: PAGE_SIZE })}`);
    if (state.open !== room) return;
    insertPage(res.messages);
    room.hasMore = res.hasMore;
    room.loaded = true;
    renderHistoryControls();
    scrollToBottom();
    // The newest page marked the room read on the server.
    const summary = summaryOf(roomId);
    if (summary) {
      state.totalUnread = Math.max(0, state.totalUnread - summary.unreadCount);
      summary.unreadCount = 0;
    } else await loadRooms();
    renderRooms();
    renderHeader();
    fillGap(); // anything that arrived between the page and the subscription
    if (state.focusSeq !== null) await focusSearchResult(room);
    else if (matchMedia("(min-width: 760px)").matches) $("composer-input").focus();
  } catch (err) {
    if (state.open !== room) return;
    toast(
      err instanceof ApiError && err.status === 403 ? "You are not a member of that room" : err.message,
      "error",
    );
    history.replaceState(null, "", location.pathname);
    closeRoom();
  }
}

function renderHeader() {
  const room = state.open;
  if (!room) return;
  const summary = summaryOf(room.id);
  const peer = summary && peerOf(summary);
  $("room-name").textContent = summary?.name ?? "…";
  $("room-avatar").replaceChildren(
    avatar(
      { id: peer?.id ?? room.id, name: summary?.name ?? "?", avatar: summary?.avatar },
      "md",
      peer?.online,
    ),
  );
  const sub = summary?.type === "GROUP"
    ? `${summary.participants.length} members`
    : peer
    ? (peer.online ? "Online" : "View profile")
    : "";
  $("room-sub").textContent = sub;
  const archivedNow = Boolean(summary?.archived);
  const archive = $("archive-button");
  archive.setAttribute("aria-pressed", String(archivedNow));
  archive.setAttribute("aria-label", archivedNow ? "Unarchive this chat" : "Archive this chat");
  archive.title = archivedNow ? "Unarchive" : "Archive";
  $("room-info-button").setAttribute(
    "aria-label",
    summary?.type === "GROUP" ? `${summary?.name}: show members` : `${summary?.name ?? ""}: show profile`,
  );
  renderTitle();
}

function renderHistoryControls() {
  const room = state.open;
  $("older-button").hidden = !room.hasMore;
  $("history-start").hidden = room.hasMore;
}

async function loadOlder() {
  const room = state.open;
  if (!room || !room.hasMore || room.loadingOlder) return;
  const oldest = [...room.messages.values()].sort((a, b) => a.seq - b.seq)[0];
  if (!oldest) return;
  room.loadingOlder = true;
  const button = $("older-button");
  button.textContent = "Loading…";
  const scroller = $("messages");
  const before = scroller.scrollHeight - scroller.scrollTop;
  try {
    const res = await request(
      "GET",
      `/api/chat/messages${query({ roomId: room.id, limit: PAGE_SIZE, beforeId: oldest.id })}`,
    );
    if (state.open !== room) return;
    insertPage(res.messages);
    room.hasMore = res.hasMore;
    scroller.scrollTop = scroller.scrollHeight - before;
    renderHistoryControls();
  } catch (err) {
    toast(err.message, "error");
  } finally {
    room.loadingOlder = false;
    button.textContent = "Load older messages";
  }
}

// ---- Messages ------------------------------------------------------------------------------------

/**
 * Adds a page of messages oldest first, then re-renders newer messages that quote one of
 * them (their quote could not be resolved before).
 */
function insertPage(messages) {
  const room = state.open;
  const ids = new Set(messages.map((m) => m.id));
  for (const message of [...messages].sort((a, b) => a.seq - b.seq)) insertMessage(message);
  for (const message of room.messages.values()) {
    if (message.replyToId && ids.has(message.replyToId) && !ids.has(message.id)) insertMessage(message);
  }
}

/** Read receipts may have changed while we were not listening: take the newest page's. */
async function refreshReceipts() {
  const room = state.open;
  try {
    const res = await request("GET", `/api/chat/messages${query({ roomId: room.id, limit: PAGE_SIZE })}`);
    if (state.open !== room) return;
    for (const fresh of res.messages) {
      const known = room.messages.get(fresh.seq);
      if (known && fresh.isRead && !known.isRead) {
        known.isRead = true;
        known.readAt = fresh.readAt;
        renderReceipt(known);
      }
    }
  } catch {
    // the next event or resync will catch up
  }
}

/** Adds or replaces a message in the open room, keeping seq order and one node per seq. */
function insertMessage(message, { live = false } = {}) {
  const room = state.open;
  if (!room || message.roomId !== room.id) return;
  if (message.clientMessageId && room.pending.has(message.clientMessageId)) {
    room.pending.get(message.clientMessageId).remove();
    room.pending.delete(message.clientMessageId);
  }
  const scroller = $("messages");
  const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
  const existing = room.nodes.get(message.seq);
  const previous = room.messages.get(message.seq);
  // Receipts only move forward: a stale copy must not turn ✓✓ back into ✓.
  if (previous?.isRead && !message.isRead) message = { ...message, isRead: true, readAt: previous.readAt };
  room.messages.set(message.seq, message);
  room.lastSeq = Math.max(room.lastSeq, message.seq);
  const node = renderMessage(message);
  if (existing) {
    existing.replaceWith(node);
  } else {
    const list = $("message-list");
    let next = null;
    for (const [seq, el] of room.nodes) {
      if (seq > message.seq && (!next || seq < Number(next.dataset.seq))) next = el;
    }
    list.insertBefore(node, next ?? firstPending(list));
  }
  room.nodes.set(message.seq, node);
  regroup(node);
  const after = node.nextElementSibling;
  if (after) regroup(after);
  if (!existing && live) {
    if (nearBottom || message.senderId === me().id) scrollToBottom();
    else {
      room.unseenBelow++;
      $("jump-button").hidden = false;
      $("jump-button").textContent = `${room.unseenBelow} new message${room.unseenBelow > 1 ? "s" : ""} ↓`;
    }
  }
}

function firstPending(list) {
  return list.querySelector(".msg.pending");
}

function removeMessage(seq) {
  const room = state.open;
  const node = room?.nodes.get(seq);
  if (!node) return;
  const next = node.nextElementSibling;
  node.remove();
  room.nodes.delete(seq);
  room.messages.delete(seq);
  if (next) regroup(next);
}

/** Consecutive messages of one sender within a few minutes share one header. */
function regroup(node) {
  const prev = node.previousElementSibling;
  const same = prev && prev.dataset.sender === node.dataset.sender &&
    Math.abs(Number(node.dataset.time) - Number(prev.dataset.time)) < GROUP_GAP_MS;
  node.classList.toggle("cont", Boolean(same));
}

function renderMessage(message) {
  const room = state.open;
  const mine = message.senderId === me().id;
  const summary = summaryOf(room.id);
  const isGroup = summary?.type === "GROUP";
  const sender = message.sender ?? { id: message.senderId, name: message.senderId, avatar: null };
  const replied = message.replyToId ? room.byId(message.replyToId) : undefined;
  const body = h("div", { className: "bubble" });
  if (!mine && isGroup) body.append(h("span", { className: "sender" }, sender.name));
  if (message.replyToId) {
    body.append(
      h(
        "button",
        {
          type: "button",
          className: "quote",
          onclick: () => replied && focusMessage(replied.seq),
          "aria-label": replied
            ? `In reply to ${replied.sender?.name}: ${previewText(replied)}`
            : "In reply to a message",
        },
        h("span", { className: "quote-name" }, replied ? replied.sender?.name ?? replied.senderId : "Reply"),
        h("span", { className: "quote-text" }, replied ? previewText(replied) : "an earlier message"),
      ),
    );
  }
  if (message.attachmentUrl && isHttpUrl(message.attachmentUrl)) body.append(renderAttachment(message));
  if (message.content) body.append(h("p", { className: "text" }, linkify(message.content)));
  const meta = h(
    "span",
    { className: "meta" },
    message.isEdited ? h("span", { className: "edited", title: fullTime(message.editedAt) }, "edited") : null,
    h(
      "time",
      { dateTime: message.createdAt, title: fullTime(message.createdAt) },
      clockTime(message.createdAt),
    ),
    mine ? receipt(message) : null,
  );
  body.append(meta);

  const reactions = (message.reactions ?? []).filter((r) => r.count > 0);
  const chips = reactions.length
    ? h(
      "div",
      { className: "reactions" },
      reactions.map((r) => {
        const reacted = r.userIds?.includes(me().id);
        return h(
          "button",
          {
            type: "button",
            className: `reaction${reacted ? " mine" : ""}`,
            "aria-pressed": reacted ? "true" : "false",
            "aria-label": `${r.emoji} ${r.count}${reacted ? ", including you" : ""}. Toggle your reaction`,
            onclick: () => react(message, r.emoji),
          },
          r.emoji,
          h("span", {}, r.count),
        );
      }),
    )
    : null;

  const actions = h(
    "button",
    {
      type: "button",
      className: "icon-btn icon-btn-small msg-actions",
      "aria-label": "Message actions",
      "aria-haspopup": "menu",
      onclick: (event) => openMenu(message, event.currentTarget),
    },
    icon("more"),
  );

  return h(
    "li",
    {
      className: `msg${mine ? " mine" : ""}`,
      id: `msg-${message.seq}`,
      "data-seq": message.seq,
      "data-sender": message.senderId,
      "data-time": Date.parse(message.createdAt) || 0,
      "aria-label": `${mine ? "You" : sender.name}, ${fullTime(message.createdAt)}`,
    },
    mine ? null : avatar(sender, "sm"),
    h("div", { className: "msg-body" }, body, chips),
    actions,
  );
}

function receipt(message) {
  const read = message.isRead;
  return h(
    "span",
    {
      className: `receipt${read ? " read" : ""}`,
      title: read ? `Read ${fullTime(message.readAt)}` : "Delivered",
      "data-receipt": read ? "read" : "delivered",
    },
    h("span", { "aria-hidden": "true" }, read ? "✓✓" : "✓"),
    h("span", { className: "visually-hidden" }, read ? "Read" : "Delivered"),
  );
}

function renderReceipt(message) {
  const node = state.open?.nodes.get(message.seq);
  node?.querySelector(".receipt")?.replaceWith(receipt(message));
}

function renderAttachment(message) {
  const name = message.attachmentName ?? new URL(message.attachmentUrl).pathname.split("/").pop() ?? "file";
  if (message.type === "image") {
    return h(
      "a",
      {
        className: "attachment-image",
        href: message.attachmentUrl,
        target: "_blank",
        rel: "noopener noreferrer",
      },
      h("img", {
        src: message.attachmentUrl,
        alt: message.attachmentName ?? "Image",
        loading: "lazy",
        // Images grow the list after layout: stay at the bottom if we were there.
        onload: () => state.open?.pinned && scrollToBottom(),
      }),
    );
  }
  return h(
    "a",
    {
      className: "attachment-file",
      href: message.attachmentUrl,
      target: "_blank",
      rel: "noopener noreferrer",
    },
    icon("file"),
    h(
      "span",
      {},
      h("span", { className: "file-name" }, name),
      h(
        "span",
        { className: "file-size" },
        fileSize(message.attachmentSize) || message.attachmentType || "Link",
      ),
    ),
  );
}

/** Text with its http(s) links as anchors (built as nodes, never as HTML). */
function linkify(text) {
  const parts = [];
  const re = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
  let last = 0;
  for (const match of text.matchAll(re)) {
    parts.push(text.slice(last, match.index));
    parts.push(h("a", { href: match[0], target: "_blank", rel: "noopener noreferrer" }, match[0]));
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

function focusMessage(seq) {
  const node = state.open?.nodes.get(seq);
  if (!node) return;
  node.scrollIntoView({ block: "center", behavior: "smooth" });
  node.classList.add("flash");
  setTimeout(() => node.classList.remove("flash"), 1200);
}

function scrollToBottom() {
  const scroller = $("messages");
  scroller.scrollTop = scroller.scrollHeight;
  if (state.open) {
    state.open.unseenBelow = 0;
    state.open.pinned = true;
  }
  $("jump-button").hidden = true;
}

let readTimer = 0;

/** Tells the server we have seen the newest message, when the room is on screen. */
function markReadSoon() {
  clearTimeout(readTimer);
  readTimer = setTimeout(async () => {
    const room = state.open;
    if (!room || document.visibilityState !== "visible") return;
    const newest = [...room.messages.values()].filter((m) => m.senderId !== me().id)
      .sort((a, b) => b.seq - a.seq)[0];
    if (!newest || (room.readUpTo ?? 0) >= newest.seq) return;
    room.readUpTo = newest.seq;
    try {
      const res = await request("POST", "/api/chat/read", { roomId: room.id, messageIds: [newest.id] });
      const summary = summaryOf(room.id);
      if (summary && typeof res.unreadCount === "number") {
        state.totalUnread = Math.max(0, state.totalUnread - (summary.unreadCount - res.unreadCount));
        summary.unreadCount = res.unreadCount;
        renderRooms();
      }
    } catch (err) {
      room.readUpTo = 0;
      console.warn("read:", err.message);
    }
  }, 250);
}

// ---- Message actions -----------------------------------------------------------------------------

let menuFor = null;

function openMenu(message, anchor) {
  const menu = $("msg-menu");
  const mine = message.senderId === me().id;
  const summary = summaryOf(state.open.id);
  const myRole = summary?.participants?.find((p) => p.id === me().id)?.role;
  const canDelete = mine || (summary?.type === "GROUP" && (myRole === "owner" || myRole === "admin"));
  const item = (label, iconName, action) =>
    h(
      "button",
      {
        type: "button",
        role: "menuitem",
        className: "menu-item",
        onclick: () => {
          closeMenu();
          action();
        },
      },
      icon(iconName),
      label,
    );
  menu.replaceChildren(
    h(
      "div",
      { className: "menu-reactions", role: "group", "aria-label": "React" },
      REACTIONS.map((emoji) =>
        h("button", {
          type: "button",
          role: "menuitem",
          className: "menu-emoji",
          "aria-label": `React with ${emoji}`,
          onclick: () => {
            closeMenu();
            react(message, emoji);
          },
        }, emoji)
      ),
    ),
    item("Reply", "reply", () => startReply(message)),
    message.content ? item("Copy text", "copy", () => navigator.clipboard?.writeText(message.content)) : null,
    mine && message.type === "text" ? item("Edit", "edit", () => startEdit(message)) : null,
    canDelete ? item("Delete", "trash", () => deleteMessage(message)) : null,
  );
  menu.hidden = false;
  menuFor = anchor;
  const rect = anchor.getBoundingClientRect();
  const width = menu.offsetWidth;
  const height = menu.offsetHeight;
  const left = Math.min(Math.max(8, rect.right - width), innerWidth - width - 8);
  const top = rect.bottom + height + 8 > innerHeight ? rect.top - height - 4 : rect.bottom + 4;
  menu.style.left = `${left}px`;
  menu.style.top = `${Math.max(8, top)}px`;
  menu.querySelector("[role=menuitem]")?.focus();
}

function closeMenu({ restoreFocus = true } = {}) {
  const menu = $("msg-menu");
  if (menu.hidden) return;
  menu.hidden = true;
  if (restoreFocus && menuFor?.isConnected) menuFor.focus();
  menuFor = null;
}

async function react(message, emoji) {
  try {
    const res = await request("POST", `/api/chat/messages/${encodeURIComponent(message.id)}/reactions`, {
      emoji,
    });
    if (res?.message) insertMessage(res.message);
    else if (res?.reactions) insertMessage({ ...state.open.byId(message.id), reactions: res.reactions });
    else refreshMessage(message);
  } catch (err) {
    toast(err.status === 404 ? "Reactions are not available on this server yet" : err.message, "error");
  }
}

async function deleteMessage(message) {
  if (!confirm("Delete this message for everyone?")) return;
  try {
    await request("DELETE", `/api/chat/messages/${encodeURIComponent(message.id)}`);
    removeMessage(message.seq);
    announce("Message deleted");
  } catch (err) {
    toast(err.message, "error");
  }
}

function startReply(message) {
  const room = state.open;
  room.editing = null;
  room.replyTo = message;
  showComposerContext(
    "reply",
    `Replying to ${message.sender?.name ?? message.senderId}: ${previewText(message)}`,
  );
  $("composer-input").focus();
}

function startEdit(message) {
  const room = state.open;
  room.replyTo = null;
  room.editing = message;
  room.attachment = null;
  renderAttachmentChip();
  showComposerContext("edit", "Editing message");
  const input = $("composer-input");
  input.value = message.content;
  autosize();
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
}

function showComposerContext(kind, text) {
  const box = $("composer-context");
  box.hidden = false;
  box.dataset.kind = kind;
  $("composer-context-text").replaceChildren(icon(kind === "edit" ? "edit" : "reply"), h("span", {}, text));
}

function resetComposer() {
  const room = state.open;
  if (room) {
    room.replyTo = null;
    if (room.editing) $("composer-input").value = "";
    room.editing = null;
  }
  $("composer-context").hidden = true;
  renderAttachmentChip();
  autosize();
}

// ---- Composer ------------------------------------------------------------------------------------

async function submitComposer() {
  const room = state.open;
  if (!room) return;
  const input = $("composer-input");
  const content = input.value.trim();
  if (room.editing) {
    const target = room.editing;
    if (!content) return toast("A message cannot be empty; delete it instead", "error");
    resetComposer();
    input.value = "";
    autosize();
    if (content === target.content) return;
    try {
      const res = await request("PATCH", `/api/chat/messages/${encodeURIComponent(target.id)}`, { content });
      if (res?.message) insertMessage(res.message);
      else insertMessage({ ...target, content, isEdited: true, editedAt: new Date().toISOString() });
    } catch (err) {
      toast(err.message, "error");
    }
    return;
  }
  if (!content && !room.attachment) return;
  const body = {
    roomId: room.id,
    content,
    clientMessageId: crypto.randomUUID(),
    ...(room.replyTo ? { replyToId: room.replyTo.id } : {}),
    ...(room.attachment ?? {}),
  };
  input.value = "";
  room.attachment = null;
  resetComposer();
  stopTyping();
  input.focus();
  await send(room, body);
}

/** Sends with a visible pending bubble; a retry re-uses the clientMessageId, so nothing doubles. */
async function send(room, body) {
  const pending = renderPending(body);
  room.pending.set(body.clientMessageId, pending);
  $("message-list").append(pending);
  scrollToBottom();
  try {
    const res = await request("POST", "/api/chat/send", body);
    if (state.open !== room) return;
    insertMessage(res.message, { live: true });
    const summary = summaryOf(room.id);
    if (summary) {
      applyPreview(summary, res.message);
      renderRooms();
    }
  } catch (err) {
    if (state.open !== room) return;
    pending.classList.add("failed");
    const retryAfter = err.headers?.get?.("Retry-After");
    const reason = err.status === 429
      ? `Slow down: you can send again in ${retryAfter ?? "a few"} seconds`
      : err.message;
    pending.querySelector(".meta").replaceChildren(
      h("span", { className: "failed-text" }, icon("alert"), "Not sent"),
      h("button", {
        type: "button",
        className: "link-btn",
        onclick: () => {
          pending.remove();
          room.pending.delete(body.clientMessageId);
          send(room, body);
        },
      }, "Retry"),
    );
    toast(reason, "error");
  }
}

function renderPending(body) {
  const bubble = h("div", { className: "bubble" });
  if (body.attachmentUrl) {
    bubble.append(
      h("span", { className: "attachment-file" }, icon("file"), body.attachmentName ?? "Attachment"),
    );
  }
  if (body.content) bubble.append(h("p", { className: "text" }, body.content));
  bubble.append(
    h("span", { className: "meta" }, h("span", { className: "sending" }, icon("clock"), "Sending…")),
  );
  return h(
    "li",
    { className: "msg mine pending", "data-sender": me().id, "data-time": Date.now() },
    h("div", { className: "msg-body" }, bubble),
  );
}

let typingSentAt = 0;
let typingIdle = 0;
let typingRoom = null;

function onComposerInput() {
  autosize();
  const room = state.open;
  if (!room || room.editing) return;
  if (!$("composer-input").value.trim()) return stopTyping();
  const now = Date.now();
  if (now - typingSentAt > TYPING_SEND_EVERY_MS || typingRoom !== room.id) {
    typingSentAt = now;
    typingRoom = room.id;
    request("POST", "/api/chat/typing", { roomId: room.id, isTyping: true }).catch(() => {});
  }
  clearTimeout(typingIdle);
  typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping() {
  clearTimeout(typingIdle);
  if (!typingRoom) return;
  const roomId = typingRoom;
  typingRoom = null;
  typingSentAt = 0;
  request("POST", "/api/chat/typing", { roomId, isTyping: false }).catch(() => {});
}

function autosize() {
  const input = $("composer-input");
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
}

function renderAttachmentChip() {
  const attachment = state.open?.attachment;
  $("attachment-chip").hidden = !attachment;
  if (attachment) {
    $("attachment-chip-text").textContent = `${attachment.type === "image" ? "Image" : "File"}: ${
      attachment.attachmentName ?? attachment.attachmentUrl
    }`;
  }
}

// ---- Archive and search --------------------------------------------------------------------------

async function toggleArchive() {
  const room = state.open;
  const summary = room && summaryOf(room.id);
  if (!summary) return;
  const archived = !summary.archived;
  try {
    await request("POST", `/api/chat/rooms/${encodeURIComponent(room.id)}/archive`, { archived });
    summary.archived = archived;
    toast(archived ? "Chat archived: a new message brings it back" : "Chat moved back to your chats");
    if (archived) {
      history.replaceState(null, "", location.pathname);
      closeRoom();
    } else state.showArchived = false; // back among the active chats, still open
    await loadRooms();
    renderHeader();
  } catch (err) {
    toast(err.message, "error");
  }
}

let searchTimer = 0;
let searchRun = 0;

function scheduleSearch() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(runSearch, 250);
}

async function runSearch() {
  const q = $("search-input").value.trim();
  const searching = q.length > 0;
  $("search-view").hidden = !searching;
  $("rooms-view").hidden = searching;
  if (!searching) return;
  const run = ++searchRun;
  const empty = $("search-empty");
  try {
    const res = await request("GET", `/api/chat/search${query({ q, limit: 30 })}`);
    if (run !== searchRun) return;
    const items = res.messages.map((m) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            className: "room",
            onclick: () => {
              state.focusSeq = m.seq;
              if (state.open?.id === m.roomId) focusSearchResult(state.open);
              else navigateToRoom(m.roomId);
            },
          },
          avatar(m.sender ?? { id: m.senderId, name: m.senderId }, "md"),
          h(
            "span",
            { className: "room-text" },
            h(
              "span",
              { className: "room-line" },
              h("span", { className: "room-name" }, m.sender?.name ?? m.senderId),
              h("time", { className: "room-time", dateTime: m.createdAt }, shortTime(m.createdAt)),
            ),
            h("span", { className: "room-preview" }, previewText(m)),
            h("span", { className: "result-meta" }, `in ${summaryOf(m.roomId)?.name ?? "a chat"}`),
          ),
        ),
      )
    );
    $("search-list").replaceChildren(...items);
    empty.textContent = "No messages match.";
    empty.hidden = items.length > 0;
  } catch (err) {
    if (run !== searchRun) return;
    $("search-list").replaceChildren();
    empty.textContent = err.message;
    empty.hidden = false;
  }
}

/** Scrolls to the searched message, paging back through history until it is loaded. */
async function focusSearchResult(room) {
  const seq = state.focusSeq;
  state.focusSeq = null;
  for (let pages = 0; !room.nodes.has(seq) && room.hasMore && pages < 10 && state.open === room; pages++) {
    await loadOlder();
  }
  focusMessage(seq);
}

// ---- Notifications and profiles ------------------------------------------------------------------

async function loadNotifications() {
  try {
    const res = await request("GET", "/api/notifications?limit=50");
    state.notifications = res.notifications ?? [];
    state.notifUnread = res.unreadCount ?? state.notifications.filter((n) => !n.isRead).length;
    renderNotifBadge();
    if ($("notif-dialog").open) renderNotifications();
  } catch {
    // Not available on this server (yet): the bell stays quiet.
  }
}

function renderNotifBadge() {
  const badge = $("notif-badge");
  badge.hidden = state.notifUnread <= 0;
  badge.textContent = state.notifUnread > 9 ? "9+" : String(state.notifUnread);
  $("notif-button").setAttribute(
    "aria-label",
    state.notifUnread > 0 ? `Notifications, ${state.notifUnread} unread` : "Notifications",
  );
}

function renderNotifications() {
  const items = state.notifications.map((n) => {
    const actor = n.metadata?.actorId
      ? {
        id: n.metadata.actorId,
        name: n.metadata.actorName ?? n.metadata.actorId,
        avatar: n.metadata.actorAvatar,
      }
      : { id: n.type ?? "n", name: n.title ?? "?" };
    return h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          className: `notif${n.isRead ? "" : " unread"}`,
          onclick: () => {
            $("notif-dialog").close();
            if (n.metadata?.roomId) navigateToRoom(n.metadata.roomId);
            else if (n.metadata?.actorId) openProfile(n.metadata.actorId);
          },
        },
        avatar(actor, "sm"),
        h(
          "span",
          { className: "notif-text" },
          h("span", { className: "notif-title" }, n.title ?? n.type),
          n.body ? h("span", { className: "notif-body" }, n.body) : null,
          h("time", { dateTime: n.createdAt, className: "muted small" }, shortTime(n.createdAt)),
        ),
      ),
    );
  });
  $("notif-list").replaceChildren(...items);
  $("notif-empty").hidden = items.length > 0;
}

async function openNotifications() {
  renderNotifications();
  $("notif-dialog").showModal();
  await loadNotifications();
  if (state.notifUnread > 0) {
    try {
      await request("POST", "/api/notifications/read", {});
      state.notifUnread = 0;
      renderNotifBadge();
    } catch {
      // shown as unread again next time
    }
  }
}

const FOLLOWING_KEY = "durable-chat.following";

function knownFollowing() {
  try {
    return new Set(JSON.parse(localStorage.getItem(`${FOLLOWING_KEY}.${me().id}`) ?? "[]"));
  } catch {
    return new Set();
  }
}

function rememberFollowing(userId, following) {
  const set = knownFollowing();
  if (following) set.add(userId);
  else set.delete(userId);
  localStorage.setItem(`${FOLLOWING_KEY}.${me().id}`, JSON.stringify([...set]));
}

let profileUserId = null;

async function openProfile(userId) {
  const dialog = $("profile-dialog");
  profileUserId = userId;
  dialog.querySelector(".form-error").textContent = "";
  $("profile-name").textContent = userId;
  $("profile-status").textContent = "";
  $("profile-avatar").replaceChildren(avatar({ id: userId, name: userId }, "lg"));
  $("profile-follow").hidden = userId === me().id;
  $("profile-message").hidden = userId === me().id;
  if (!dialog.open) dialog.showModal();
  try {
    const user = await request("GET", `/api/users/${encodeURIComponent(userId)}`);
    if (profileUserId !== userId) return;
    $("profile-name").textContent = user.name;
    $("profile-avatar").replaceChildren(avatar(user, "lg", user.online));
    $("profile-status").textContent = user.online
      ? "Online"
      : user.lastSeenAt
      ? `Last seen ${fullTime(user.lastSeenAt)}`
      : "Offline";
    $("profile-followers").textContent = String(user.followers ?? 0);
    $("profile-following").textContent = String(user.following ?? 0);
    const following = typeof user.isFollowing === "boolean" ? user.isFollowing : knownFollowing().has(userId);
    renderFollowButton(following);
  } catch (err) {
    if (profileUserId !== userId) return;
    renderFollowButton(knownFollowing().has(userId));
    dialog.querySelector(".form-error").textContent = err.status === 404 ? "No such user yet" : err.message;
  }
}

function renderFollowButton(following) {
  const button = $("profile-follow");
  button.textContent = following ? "Following" : "Follow";
  button.setAttribute("aria-pressed", following ? "true" : "false");
  button.className = `btn ${following ? "btn-soft" : "btn-primary"}`;
}

async function toggleFollow() {
  const userId = profileUserId;
  const following = $("profile-follow").getAttribute("aria-pressed") === "true";
  const dialog = $("profile-dialog");
  try {
    await request(following ? "DELETE" : "POST", `/api/users/${encodeURIComponent(userId)}/follow`);
    rememberFollowing(userId, !following);
    renderFollowButton(!following);
    const count = $("profile-followers");
    count.textContent = String(Math.max(0, Number(count.textContent) + (following ? -1 : 1)));
    announce(following ? "Unfollowed" : "Following");
  } catch (err) {
    dialog.querySelector(".form-error").textContent = err.message;
  }
}

async function startChatWith(userId) {
  const { roomId } = await request("POST", "/api/chat/start", { receiverId: userId });
  await loadRooms();
  navigateToRoom(roomId);
}

function openMembers() {
  const summary = summaryOf(state.open.id);
  if (!summary) return;
  const dialog = $("members-dialog");
  dialog.querySelector(".form-error").textContent = "";
  $("members-title").textContent = `${summary.name} · ${summary.participants.length} members`;
  $("members-list").replaceChildren(
    ...summary.participants.map((p) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            className: "member",
            onclick: () => {
              dialog.close();
              openProfile(p.id);
            },
          },
          avatar(p, "sm", p.online),
          h("span", { className: "member-name" }, p.id === me().id ? `${p.name} (you)` : p.name),
          p.role !== "member" ? h("span", { className: "role" }, p.role) : null,
        ),
      )
    ),
  );
  dialog.showModal();
}

// ---- Wiring --------------------------------------------------------------------------------------

function wireApp() {
  addEventListener("hashchange", () => state.session && openFromHash());
  $("signout-button").addEventListener("click", () => {
    history.replaceState(null, "", location.pathname);
    signOut();
  });
  $("back-button").addEventListener("click", () => {
    history.replaceState(null, "", location.pathname);
    closeRoom();
    $("room-list").querySelector(".room")?.focus();
  });
  $("me-button").addEventListener("click", () => openProfile(me().id));
  $("notif-button").addEventListener("click", openNotifications);
  $("room-info-button").addEventListener("click", () => {
    const summary = summaryOf(state.open?.id);
    if (!summary) return;
    if (summary.type === "GROUP") openMembers();
    else if (peerOf(summary)) openProfile(peerOf(summary).id);
  });
  $("older-button").addEventListener("click", loadOlder);
  $("archive-button").addEventListener("click", toggleArchive);
  $("archived-toggle").addEventListener("click", () => {
    state.showArchived = !state.showArchived;
    loadRooms();
  });
  $("search-input").addEventListener("input", scheduleSearch);
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(searchTimer);
    runSearch();
  });
  $("messages").addEventListener("scroll", () => {
    const scroller = $("messages");
    if (scroller.scrollTop < 80 && state.open?.loaded) loadOlder();
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    if (state.open) state.open.pinned = atBottom;
    if (atBottom) {
      if (state.open) state.open.unseenBelow = 0;
      $("jump-button").hidden = true;
    }
  }, { passive: true });
  $("jump-button").addEventListener("click", scrollToBottom);

  const input = $("composer-input");
  input.addEventListener("input", onComposerInput);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitComposer();
    } else if (event.key === "Escape" && (state.open?.replyTo || state.open?.editing)) {
      event.preventDefault();
      resetComposer();
    } else if (event.key === "ArrowUp" && !input.value && state.open) {
      const last = [...state.open.messages.values()].filter((m) =>
        m.senderId === me().id && m.type === "text"
      )
        .sort((a, b) => b.seq - a.seq)[0];
      if (last) {
        event.preventDefault();
        startEdit(last);
      }
    }
  });
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    submitComposer();
  });
  $("composer-cancel").addEventListener("click", () => {
    resetComposer();
    input.focus();
  });
  $("attachment-remove").addEventListener("click", () => {
    state.open.attachment = null;
    renderAttachmentChip();
    input.focus();
  });
  $("attach-button").addEventListener("click", () => {
    const form = $("attach-form");
    form.reset();
    form.querySelector(".form-error").textContent = "";
    $("attach-dialog").showModal();
  });
  $("attach-url").addEventListener("input", () => {
    const url = $("attach-url").value;
    const kind = /\.(png|jpe?g|gif|webp|avif|svg)(\?|#|$)/i.test(url) ? "image" : "file";
    $("attach-form").querySelector(`input[value=${kind}]`).checked = true;
  });
  $("attach-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const url = $("attach-url").value.trim();
    const error = $("attach-form").querySelector(".form-error");
    if (!isHttpUrl(url)) {
      error.textContent = "Enter an http:// or https:// link";
      return;
    }
    const kind = $("attach-form").querySelector("input[name=attach-kind]:checked").value;
    const name = $("attach-name").value.trim() ||
      decodeURIComponent(new URL(url).pathname.split("/").pop() || "");
    state.open.attachment = {
      type: kind,
      attachmentUrl: url,
      ...(name ? { attachmentName: name.slice(0, 255) } : {}),
    };
    $("attach-dialog").close();
    renderAttachmentChip();
    input.focus();
  });

  $("new-chat-button").addEventListener("click", () => openFormDialog("new-chat"));
  $("new-group-button").addEventListener("click", () => openFormDialog("new-group"));
  $("new-chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runDialog("new-chat", async () => {
      const userId = $("new-chat-user").value.trim();
      if (userId === me().id) throw new Error("That is you: pick someone else");
      await startChatWith(userId);
    });
  });
  $("new-chat-form").querySelector("[data-action=profile]").addEventListener("click", () => {
    const userId = $("new-chat-user").value.trim();
    if (!userId) return;
    $("new-chat-dialog").close();
    openProfile(userId);
  });
  $("new-group-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runDialog("new-group", async () => {
      const memberIds = [...new Set($("new-group-members").value.split(/[\s,]+/).filter(Boolean))]
        .filter((id) => id !== me().id);
      if (memberIds.length === 0) throw new Error("Add at least one member");
      const { roomId } = await request("POST", "/api/chat/groups", {
        name: $("new-group-name").value.trim(),
        memberIds,
      });
      await loadRooms();
      navigateToRoom(roomId);
    });
  });
  $("profile-follow").addEventListener("click", toggleFollow);
  $("profile-message").addEventListener("click", async () => {
    const userId = profileUserId;
    $("profile-dialog").close();
    try {
      await startChatWith(userId);
    } catch (err) {
      toast(err.message, "error");
    }
  });
  $("members-add-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = $("members-add-input").value.split(/[\s,]+/).filter(Boolean);
    if (ids.length === 0) return;
    try {
      await request("POST", `/api/chat/rooms/${encodeURIComponent(state.open.id)}/members`, { userIds: ids });
      $("members-add-input").value = "";
      await loadRooms();
      renderHeader();
      openMembers();
    } catch (err) {
      $("members-dialog").querySelector(".form-error").textContent = err.message;
    }
  });
  $("members-leave").addEventListener("click", async () => {
    if (!confirm("Leave this group?")) return;
    try {
      await request(
        "DELETE",
        `/api/chat/rooms/${encodeURIComponent(state.open.id)}/members/${encodeURIComponent(me().id)}`,
      );
      $("members-dialog").close();
      history.replaceState(null, "", location.pathname);
      closeRoom();
      loadRooms();
    } catch (err) {
      $("members-dialog").querySelector(".form-error").textContent = err.message;
    }
  });

  for (const button of document.querySelectorAll("dialog [data-close]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
  for (const dialog of document.querySelectorAll("dialog")) {
    // A click on the backdrop closes the dialog.
    dialog.addEventListener("click", (event) => event.target === dialog && dialog.close());
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeMenu();
  });
  document.addEventListener("click", (event) => {
    if (!$("msg-menu").hidden && !event.target.closest("#msg-menu, .msg-actions")) {
      closeMenu({ restoreFocus: false });
    }
  });
  $("msg-menu").addEventListener("keydown", (event) => {
    const items = [...$("msg-menu").querySelectorAll("[role=menuitem]")];
    const index = items.indexOf(document.activeElement);
    const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (step) {
      event.preventDefault();
      items[(index + step + items.length) % items.length]?.focus();
    } else if (event.key === "Tab") closeMenu({ restoreFocus: false });
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.open?.loaded) markReadSoon();
  });
  addEventListener("focus", () => state.open?.loaded && markReadSoon());
}

function openFormDialog(name) {
  const form = $(`${name}-form`);
  form.reset();
  form.querySelector(".form-error").textContent = "";
  $(`${name}-dialog`).showModal();
}

async function runDialog(name, action) {
  const form = $(`${name}-form`);
  const error = form.querySelector(".form-error");
  const submit = form.querySelector("button[type=submit]");
  error.textContent = "";
  if (!form.checkValidity()) {
    form.reportValidity();
    return;
  }
  submit.disabled = true;
  try {
    await action();
    $(`${name}-dialog`).close();
  } catch (err) {
    error.textContent = err instanceof ApiError && err.status === 404 && name === "new-chat"
      ? "No user with that id has signed in yet"
      : err.message;
  } finally {
    submit.disabled = false;
  }
}

/** Says something to screen readers without moving focus. */
function announce(text) {
  const region = $("announcer");
  region.append(h("p", {}, text));
  while (region.childElementCount > 5) region.firstElementChild.remove();
}

// ---- Start: last, so every module-level binding above is initialized ----------------------------

fillIcons();
whenUnauthorized(() => {
  toast("Your session ended; please sign in again", "error");
  signOut();
});
wireLogin();
wireApp();
boot();
