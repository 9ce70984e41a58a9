/**
 * @module The room list in the sidebar: one button per room (most recent first) with its preview,
 * time and unread badge, the total unread badge, and the switch to the archived chats.
 */
import { me, peerOf, sortedRooms } from "./store.js";
import { $, avatar, h, shortTime } from "./view.js";

/**
 * Mounts the room list.
 * @param {{store: any, sync: any, navigate(roomId: string): void}} ctx
 */
export function mountRooms(ctx) {
  const { store, sync } = ctx;
  let shown = { rooms: null, openId: undefined, totalUnread: -1, user: undefined };

  $("archived-toggle").addEventListener("click", () => {
    store.dispatch({ type: "rooms/showArchived", archived: !store.getState().rooms.showArchived });
    sync.loadRooms();
  });

  store.subscribe(render);
  render(store.getState());

  function render(state) {
    const next = {
      rooms: state.rooms,
      openId: state.open?.roomId,
      totalUnread: state.totalUnread,
      user: me(state),
    };
    if (Object.keys(next).every((key) => next[key] === shown[key])) return;
    shown = next;
    const list = $("room-list");
    const focusedId = document.activeElement?.closest?.(".room")?.dataset.roomId;
    const items = sortedRooms(state).map((room) => roomItem(state, room));
    list.replaceChildren(...items);
    const { loaded, showArchived } = state.rooms;
    $("rooms-empty").hidden = !loaded || items.length > 0;
    $("rooms-empty").textContent = showArchived
      ? "No archived chats."
      : "No conversations yet. Start one with “New chat”.";
    $("rooms-title").textContent = showArchived ? "Archived" : "Chats";
    $("archived-toggle").setAttribute("aria-pressed", String(showArchived));
    $("archived-toggle-text").textContent = showArchived ? "Back to chats" : "Archived chats";
    if (focusedId) list.querySelector(`[data-room-id="${CSS.escape(focusedId)}"]`)?.focus();
    const total = $("total-unread");
    total.hidden = state.totalUnread <= 0;
    total.textContent = String(state.totalUnread);
    total.setAttribute("aria-label", `${state.totalUnread} unread`);
  }

  function roomItem(state, room) {
    const isOpen = state.open?.roomId === room.id;
    const unread = isOpen ? 0 : room.unreadCount;
    const peer = peerOf(state, room);
    const mine = room.lastMessageSenderId === me(state)?.id;
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
          onclick: () => ctx.navigate(room.id),
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
  }
}
