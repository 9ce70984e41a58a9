/**
 * @module The open room's frame: the chat pane shown or not (one pane at a time on a phone), its
 * header (name, avatar, members or presence, archive), the back button and the typing line. The
 * messages themselves are web/view_messages.js.
 */
import { peerOf, summaryOf, typingNames } from "./store.js";
import { $, avatar, h, toast } from "./view.js";

/**
 * Mounts the chat pane.
 * @param {{store: any, sync: any, leaveRoom(): void, openMembers(): void,
 *   openProfile(userId: string): void}} ctx
 */
export function mountConversation(ctx) {
  const { store, sync } = ctx;
  let shown = { open: undefined, summary: undefined, typing: undefined };

  $("back-button").addEventListener("click", () => {
    ctx.leaveRoom();
    $("room-list").querySelector(".room")?.focus();
  });
  $("room-info-button").addEventListener("click", () => {
    const state = store.getState();
    const summary = summaryOf(state, state.open?.roomId);
    if (!summary) return;
    const peer = peerOf(state, summary);
    if (summary.type === "GROUP") ctx.openMembers();
    else if (peer) ctx.openProfile(peer.id);
  });
  $("archive-button").addEventListener("click", toggleArchive);

  store.subscribe(render);
  render(store.getState());

  function render(state) {
    const open = state.open;
    if (Boolean(open) !== Boolean(shown.open)) {
      document.body.classList.toggle("show-chat", Boolean(open));
      $("chat-empty").hidden = Boolean(open);
      $("chat-room").hidden = !open;
    }
    const summary = open ? summaryOf(state, open.roomId) : undefined;
    if (open && (open.roomId !== shown.open?.roomId || summary !== shown.summary)) {
      renderHeader(state, open, summary);
    }
    if (open && open.typing !== shown.typing) renderTyping(open);
    shown = { open, summary, typing: open?.typing };
  }

  function renderHeader(state, open, summary) {
    const peer = summary && peerOf(state, summary);
    $("room-name").textContent = summary?.name ?? "…";
    $("room-avatar").replaceChildren(
      avatar(
        { id: peer?.id ?? open.roomId, name: summary?.name ?? "?", avatar: summary?.avatar },
        "md",
        peer?.online,
      ),
    );
    $("room-sub").textContent = summary?.type === "GROUP"
      ? `${summary.participants.length} members`
      : peer
      ? (peer.online ? "Online" : "View profile")
      : "";
    const archivedNow = Boolean(summary?.archived);
    const archive = $("archive-button");
    archive.setAttribute("aria-pressed", String(archivedNow));
    archive.setAttribute("aria-label", archivedNow ? "Unarchive this chat" : "Archive this chat");
    archive.title = archivedNow ? "Unarchive" : "Archive";
    $("room-info-button").setAttribute(
      "aria-label",
      summary?.type === "GROUP" ? `${summary?.name}: show members` : `${summary?.name ?? ""}: show profile`,
    );
  }

  function renderTyping(open) {
    const names = typingNames(open);
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

  async function toggleArchive() {
    const state = store.getState();
    const roomId = state.open?.roomId;
    const summary = summaryOf(state, roomId);
    if (!summary) return;
    const archived = !summary.archived;
    try {
      await sync.archive(roomId, archived);
      toast(archived ? "Chat archived: a new message brings it back" : "Chat moved back to your chats");
      if (archived) ctx.leaveRoom();
      await sync.loadRooms();
    } catch (err) {
      toast(err.message, "error");
    }
  }
}
