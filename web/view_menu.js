/**
 * @module The message actions menu (react, reply, copy, edit, delete), opened from a message's
 * "…" button: a `role=menu` that arrow keys move through, Escape or a click elsewhere closes, and
 * that gives focus back to the button it came from.
 */
import { me, summaryOf } from "./store.js";
import { $, h, icon, toast } from "./view.js";

const REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🎉"];

/**
 * Mounts the menu; returns `open(message, anchor)` and `react(message, emoji)`.
 * @param {{store: any, sync: any, composer: {startReply(m: any): void, startEdit(m: any): void}}} ctx
 */
export function mountMenu(ctx) {
  const { store, sync } = ctx;
  const menu = $("msg-menu");
  /** The button the open menu belongs to. */
  let anchor = null;

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  document.addEventListener("click", (event) => {
    if (!menu.hidden && !event.target.closest("#msg-menu, .msg-actions")) close({ restoreFocus: false });
  });
  menu.addEventListener("keydown", (event) => {
    const items = [...menu.querySelectorAll("[role=menuitem]")];
    const index = items.indexOf(document.activeElement);
    const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (step) {
      event.preventDefault();
      items[(index + step + items.length) % items.length]?.focus();
    } else if (event.key === "Tab") close({ restoreFocus: false });
  });

  function open(message, at) {
    const state = store.getState();
    const mine = message.senderId === me(state).id;
    const summary = summaryOf(state, state.open?.roomId);
    const myRole = summary?.participants?.find((p) => p.id === me(state).id)?.role;
    const canDelete = mine || (summary?.type === "GROUP" && (myRole === "owner" || myRole === "admin"));
    const item = (label, iconName, action) =>
      h(
        "button",
        {
          type: "button",
          role: "menuitem",
          className: "menu-item",
          onclick: () => {
            close();
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
              close();
              react(message, emoji);
            },
          }, emoji)
        ),
      ),
      item("Reply", "reply", () => ctx.composer.startReply(message)),
      message.content
        ? item("Copy text", "copy", () => navigator.clipboard?.writeText(message.content))
        : null,
      mine && message.type === "text" ? item("Edit", "edit", () => ctx.composer.startEdit(message)) : null,
      canDelete ? item("Delete", "trash", () => remove(message)) : null,
    );
    menu.hidden = false;
    anchor = at;
    const rect = at.getBoundingClientRect();
    const width = menu.offsetWidth;
    const height = menu.offsetHeight;
    const left = Math.min(Math.max(8, rect.right - width), innerWidth - width - 8);
    const top = rect.bottom + height + 8 > innerHeight ? rect.top - height - 4 : rect.bottom + 4;
    menu.style.left = `${left}px`;
    menu.style.top = `${Math.max(8, top)}px`;
    menu.querySelector("[role=menuitem]")?.focus();
  }

  function close({ restoreFocus = true } = {}) {
    if (menu.hidden) return;
    menu.hidden = true;
    if (restoreFocus && anchor?.isConnected) anchor.focus();
    anchor = null;
  }

  async function react(message, emoji) {
    try {
      await sync.react(message, emoji);
    } catch (err) {
      toast(err.status === 404 ? "Reactions are not available on this server yet" : err.message, "error");
    }
  }

  async function remove(message) {
    if (!confirm("Delete this message for everyone?")) return;
    try {
      await sync.remove(message);
      store.dispatch({ type: "announce", text: "Message deleted" });
    } catch (err) {
      toast(err.message, "error");
    }
  }

  return { open, react };
}
