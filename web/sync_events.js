/**
 * @module What each realtime event means for the client (API.md's "Realtime" table): store actions,
 * or a reload through web/sync.js when an event does not carry enough to apply it. The open room's
 * messages are not here: the SDK's `onMessage` delivers them, each once and in order.
 */
import { listedRoom, messageById } from "./store.js";
import { patchedMessage } from "./store_room.js";

/** How long a "… is typing" line stays without a new typing event. */
const TYPING_SHOW_MS = 6000;

/**
 * The handlers of user-channel and room-channel events, over the sync layer's operations.
 * @param {{
 *   store: ReturnType<typeof import("./store.js").createStore>,
 *   notify: (text: string, kind?: string) => void,
 *   loadRooms: () => void, loadNotifications: () => void, refreshMessage: (message: any) => void,
 *   rejoinRoom: (roomId: string) => void,
 * }} ops
 */
export function routeEvents(ops) {
  const { store, notify, loadRooms, loadNotifications, refreshMessage, rejoinRoom } = ops;
  const state = () => store.getState();
  const dispatch = (action) => store.dispatch(action);
  const typingTimers = new Set();

  function onUserEvent(name, data) {
    switch (name) {
      case "new-message": {
        const { roomId, message } = data;
        if (!message || !listedRoom(state(), roomId)) loadRooms();
        dispatch({
          type: "user/newMessage",
          roomId,
          message,
          unreadCount: data.unreadCount,
          totalUnread: data.totalUnread,
        });
        break;
      }
      case "unread-updated":
        dispatch({
          type: "unread/updated",
          roomId: data.roomId,
          unreadCount: data.unreadCount,
          totalUnread: data.totalUnread,
        });
        break;
      case "notification":
        if (data?.id && !state().notifications.items.some((n) => n.id === data.id)) {
          dispatch({ type: "notifications/received", notification: data });
          notify(data.title ?? "New notification");
        } else if (!data?.title) loadNotifications();
        break;
      case "member-added":
        // Added back to the open room: its old subscription ended when we were removed.
        if (data?.userIds?.includes(state().session?.user.id)) rejoinRoom(data.roomId);
        loadRooms();
        break;
      case "room-created":
      case "member-removed":
      case "room-updated":
      case "room-archived":
        loadRooms(); // the room list changed
        break;
      default:
        // Anything else (a newer server's event, a client event) is not ours to act on.
        break;
    }
  }

  function onRoomEvent(roomId, name, data) {
    const open = state().open;
    if (!open || open.roomId !== roomId) return;
    switch (name) {
      case "message-updated":
      case "reaction-updated": {
        // Events name the message by id; their `seq` may be the room's event position, not the message's.
        const known = messageById(open, data.message?.id ?? data.messageId);
        const next = known && patchedMessage(known, data);
        if (next) dispatch({ type: "message/replaced", roomId, message: next });
        else if (known) refreshMessage(known);
        break;
      }
      case "message-deleted":
        dispatch({ type: "message/removed", roomId, messageId: data.messageId });
        break;
      case "message-read":
        dispatch({ type: "message/read", roomId, readBy: data.readBy, seq: data.seq, readAt: data.readAt });
        break;
      case "user-typing":
        typing(roomId, data);
        break;
      case "member-added":
      case "member-removed":
      case "room-updated":
        loadRooms();
        break;
      default:
        // Unknown events, e.g. another member's `client-*` events, change nothing here: reloading
        // on them would let one member make every client of the room hammer the API.
        break;
    }
  }

  function typing(roomId, { userId, userName, isTyping }) {
    const until = Date.now() + TYPING_SHOW_MS;
    dispatch({ type: "typing/changed", roomId, userId, userName, isTyping, until });
    if (!isTyping) return;
    const timer = setTimeout(() => {
      typingTimers.delete(timer);
      dispatch({ type: "typing/expired", roomId, userId, until });
    }, TYPING_SHOW_MS);
    typingTimers.add(timer);
  }

  /** Forgets the typing timers (sign out). */
  function stop() {
    for (const timer of typingTimers) clearTimeout(timer);
    typingTimers.clear();
  }

  return { onUserEvent, onRoomEvent, stop };
}
