/**
 * @module The notifications bell: its unread badge and the dialog that lists the notifications
 * (follows, group invites, …), marking them read when opened.
 */
import { $, avatar, h, shortTime } from "./view.js";

/**
 * Mounts the bell and its dialog.
 * @param {{store: any, sync: any, chat: any, navigate(roomId: string): void,
 *   openProfile(userId: string): void}} ctx
 */
export function mountNotifications(ctx) {
  const { store, sync, chat } = ctx;
  const dialog = $("notif-dialog");
  let shown = null;

  $("notif-button").addEventListener("click", async () => {
    renderList(store.getState().notifications.items);
    dialog.showModal();
    await sync.loadNotifications();
    if (store.getState().notifications.unread > 0) {
      try {
        await chat.readNotifications();
        store.dispatch({ type: "notifications/read" });
      } catch {
        // Shown as unread again next time.
      }
    }
  });

  store.subscribe(render);
  render(store.getState());

  function render(state) {
    if (state.notifications === shown) return;
    if (state.notifications.items !== shown?.items && dialog.open) renderList(state.notifications.items);
    shown = state.notifications;
    const { unread } = shown;
    const badge = $("notif-badge");
    badge.hidden = unread <= 0;
    badge.textContent = unread > 9 ? "9+" : String(unread);
    $("notif-button").setAttribute(
      "aria-label",
      unread > 0 ? `Notifications, ${unread} unread` : "Notifications",
    );
  }

  function renderList(notifications) {
    const items = notifications.map((n) => {
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
              dialog.close();
              if (n.metadata?.roomId) ctx.navigate(n.metadata.roomId);
              else if (n.metadata?.actorId) ctx.openProfile(n.metadata.actorId);
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
}
