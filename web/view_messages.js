/**
 * @module The open room's message list: rendered from the store's messages and pending sends, one
 * node per seq (kept while the message is unchanged), plus the scrolling around it: stay at the
 * newest message unless the user scrolled up (then "n new messages ↓"), keep the place when older
 * pages load above, load them when scrolled to the top, and scroll to a message on request.
 */
import { summaryOf } from "./store.js";
import { messageItem, pendingItem } from "./view_message.js";
import { $ } from "./view.js";

/** Consecutive messages of one sender within this long share one header. */
const GROUP_GAP_MS = 5 * 60 * 1000;

/**
 * Mounts the message list. Returns `focusMessage(seq)`, which scrolls to a shown message and
 * flashes it.
 * @param {{store: any, sync: any, openMenu(message: any, anchor: HTMLElement): void,
 *   react(message: any, emoji: string): void}} ctx
 */
export function mountMessages(ctx) {
  const { store, sync } = ctx;
  const list = $("message-list");
  const scroller = $("messages");
  const jump = $("jump-button");
  const older = $("older-button");
  /** What is on screen: the visit of the room it belongs to, and one entry per message or pending send. */
  let shown = { visit: 0, loaded: false, messages: null, pending: null, isGroup: false, flash: null };
  let entries = new Map();
  /** Whether the view follows the newest message (the user has not scrolled up). */
  let pinned = true;
  let unseenBelow = 0;

  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < 80 && store.getState().open?.loaded) sync.loadOlder();
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    pinned = atBottom;
    if (atBottom) {
      unseenBelow = 0;
      jump.hidden = true;
    }
  }, { passive: true });
  jump.addEventListener("click", scrollToBottom);
  older.addEventListener("click", () => sync.loadOlder());

  store.subscribe(render);
  render(store.getState());

  function render(state) {
    const open = state.open;
    if (!open) {
      if (shown.visit !== 0) reset(0);
      return;
    }
    if (open.visit !== shown.visit) reset(open.visit);
    renderHistory(open);
    const isGroup = summaryOf(state, open.roomId)?.type === "GROUP";
    if (open.messages !== shown.messages || open.pending !== shown.pending || isGroup !== shown.isGroup) {
      renderList(state, open, isGroup);
    }
    if (open.flash && open.flash !== shown.flash) {
      shown.flash = open.flash;
      focusMessage(open.flash.seq);
    }
  }

  function reset(visit) {
    shown = { visit, loaded: false, messages: null, pending: null, isGroup: false, flash: null };
    entries = new Map();
    list.replaceChildren();
    pinned = true;
    unseenBelow = 0;
    jump.hidden = true;
    older.hidden = true;
    $("history-start").hidden = true;
  }

  function renderHistory(open) {
    older.hidden = !open.loaded || !open.hasMore;
    $("history-start").hidden = !open.loaded || open.hasMore;
    const label = open.loadingOlder ? "Loading…" : "Load older messages";
    if (older.textContent !== label) older.textContent = label;
  }

  function renderList(state, open, isGroup) {
    const meId = state.session.user.id;
    const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    const before = entries;
    const seqs = [...before.values()].filter((e) => e.message).map((e) => e.message.seq);
    const oldest = Math.min(...seqs);
    const newest = Math.max(...seqs);
    const byId = new Map(open.messages.map((m) => [m.id, m]));
    entries = new Map();
    for (const message of open.messages) {
      const replied = message.replyToId ? byId.get(message.replyToId) : undefined;
      const old = before.get(`m${message.seq}`);
      const same = old && old.message === message && old.replied === replied && old.isGroup === isGroup;
      entries.set(
        `m${message.seq}`,
        same ? old : {
          message,
          replied,
          isGroup,
          node: messageItem(message, {
            meId,
            isGroup,
            replied,
            onQuote: focusMessage,
            onReact: ctx.react,
            onMenu: ctx.openMenu,
            onImageLoad: () => pinned && scrollToBottom(),
          }),
        },
      );
    }
    for (const pending of open.pending) {
      const old = before.get(`p${pending.clientMessageId}`);
      entries.set(
        `p${pending.clientMessageId}`,
        old?.pending === pending
          ? old
          : { pending, node: pendingItem(pending, { meId, onRetry: sync.retry }) },
      );
    }
    for (const [key, entry] of before) if (entries.get(key)?.node !== entry.node) entry.node.remove();
    place([...entries.values()].map((e) => e.node));

    const added = [...entries.keys()].filter((key) => !before.has(key));
    const arrived = open.messages.filter((m) => !before.has(`m${m.seq}`));
    const firstPage = open.loaded && !shown.loaded;
    shown = { ...shown, loaded: open.loaded, messages: open.messages, pending: open.pending, isGroup };
    if (firstPage || added.some((key) => key.startsWith("p"))) return scrollToBottom();
    if (arrived.some((m) => m.seq < oldest)) scroller.scrollTop = scroller.scrollHeight - fromBottom;
    const below = arrived.filter((m) => m.seq > newest);
    if (below.length === 0) return;
    if (nearBottom || below.some((m) => m.senderId === meId)) scrollToBottom();
    else {
      unseenBelow += below.length;
      jump.hidden = false;
      jump.textContent = `${unseenBelow} new message${unseenBelow > 1 ? "s" : ""} ↓`;
    }
  }

  /** Puts `nodes` in the list in this order, moving only those out of place. */
  function place(nodes) {
    let cursor = list.firstChild;
    for (const [i, node] of nodes.entries()) {
      if (node === cursor) cursor = cursor.nextSibling;
      else list.insertBefore(node, cursor);
      const prev = nodes[i - 1];
      const same = prev && prev.dataset.sender === node.dataset.sender &&
        Math.abs(Number(node.dataset.time) - Number(prev.dataset.time)) < GROUP_GAP_MS;
      node.classList.toggle("cont", Boolean(same));
    }
  }

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
    unseenBelow = 0;
    pinned = true;
    jump.hidden = true;
  }

  function focusMessage(seq) {
    const node = entries.get(`m${seq}`)?.node;
    if (!node) return;
    node.scrollIntoView({ block: "center", behavior: "smooth" });
    node.classList.add("flash");
    setTimeout(() => node.classList.remove("flash"), 1200);
  }

  return { focusMessage };
}
