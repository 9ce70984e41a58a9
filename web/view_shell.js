/**
 * @module The frame around the chat: which screen shows (sign-in or the app), the signed-in user
 * and the connection pill, the page title with the unread total, and the screen-reader
 * announcements (an `aria-live` region that reads each new one once).
 */
import { me, summaryOf } from "./store.js";
import { $, avatar, h } from "./view.js";

/** How the realtime connection is doing (pusher-js's states), for the status pill. */
const STATES = {
  initialized: "Connecting…",
  connecting: "Connecting…",
  connected: "Live",
  unavailable: "Reconnecting…",
  failed: "Offline",
  disconnected: "Offline",
};

/**
 * Mounts the frame.
 * @param {{store: any, signOut(): void, openProfile(userId: string): void}} ctx
 */
export function mountShell(ctx) {
  const { store } = ctx;
  let shown = { user: undefined, connection: null, announced: 0 };

  $("signout-button").addEventListener("click", () => {
    history.replaceState(null, "", location.pathname);
    ctx.signOut();
  });
  $("me-button").addEventListener("click", () => ctx.openProfile(me(store.getState()).id));

  store.subscribe(render);
  render(store.getState());

  function render(state) {
    const user = me(state);
    $("login-screen").hidden = user !== null;
    $("app").hidden = user === null;
    if (user !== shown.user && user) {
      $("me-avatar").replaceChildren(avatar(user, "sm"));
      $("me-name").textContent = user.name;
    }
    if (state.connection !== shown.connection) renderConnection(state.connection);
    document.title = title(state);
    renderAnnouncements(state.announcements);
    shown = { ...shown, user };
  }

  function renderConnection(connection) {
    shown.connection = connection;
    document.body.dataset.connection = connection.state;
    const pill = $("conn-status");
    pill.textContent = connection.label ?? STATES[connection.state] ?? connection.state;
    pill.dataset.state = connection.state;
  }

  /** Says each new announcement to screen readers without moving focus; the region keeps five. */
  function renderAnnouncements({ next, items }) {
    const region = $("announcer");
    if (next <= shown.announced) shown.announced = 0; // a new session counts from 1 again
    for (const item of items) {
      if (item.id <= shown.announced) continue;
      region.append(h("p", {}, item.text));
      shown.announced = item.id;
    }
    while (region.childElementCount > 5) region.firstElementChild.remove();
  }
}

function title(state) {
  if (!state.session) return "Sign in · durable-chat";
  const open = state.open && (summaryOf(state, state.open.roomId)?.name ?? "Chat");
  const base = open ? `${open} · durable-chat` : "durable-chat";
  return state.totalUnread > 0 ? `(${state.totalUnread}) ${base}` : base;
}
