/**
 * @module The web client's entry point: builds the store (web/store.js), a client SDK per session
 * (client/, served at /client/*: every API call, sends and realtime), the sync layer (web/sync.js)
 * over it, and mounts one view per area; then signs in from the stored session or shows the
 * sign-in screen. Plain DOM, no framework, no build step.
 */
import { clearSession, loadSession, saveSession } from "./api.js";
import { createStore } from "./store.js";
import { createSync } from "./sync.js";
import { fillIcons, toast } from "./view.js";
import { mountComposer } from "./view_composer.js";
import { mountConversation } from "./view_conversation.js";
import { mountDialogs } from "./view_dialogs.js";
import { mountLogin } from "./view_login.js";
import { mountMenu } from "./view_menu.js";
import { mountMessages } from "./view_messages.js";
import { mountNotifications } from "./view_notifications.js";
import { mountProfile } from "./view_profile.js";
import { mountRooms } from "./view_rooms.js";
import { mountSearch } from "./view_search.js";
import { mountShell } from "./view_shell.js";

/** The SDK's modules, served from client/ with their types stripped (routes/client_modules.ts). */
const SDK = "/client/chat_client.js";
const { createClient } = await import(SDK);

function main() {
  fillIcons();
  const store = createStore();
  /** The session's SDK client: its methods are copied in at sign-in and it is closed at sign-out. */
  const chat = {};
  const sync = createSync({
    store,
    chat,
    notify: toast,
    visible: () => document.visibilityState === "visible",
    onRoomLost: () => leaveRoom(),
  });

  /** What the views share: the store, the API, the sync layer, navigation, and each other's openers. */
  const ctx = { store, chat, sync, navigate, leaveRoom, signOut };
  const login = mountLogin({
    checkToken: async (token) => {
      const probe = openClient(() => token);
      try {
        await probe.rooms({ limit: 1 });
      } finally {
        probe.close();
      }
    },
    onSignedIn: enterApp,
  });
  mountShell(ctx);
  mountRooms(ctx);
  mountSearch(ctx);
  mountConversation(ctx);
  ctx.composer = mountComposer(ctx);
  const menu = mountMenu(ctx);
  ctx.openMenu = menu.open;
  ctx.react = menu.react;
  mountMessages(ctx);
  Object.assign(ctx, mountDialogs(ctx));
  Object.assign(ctx, mountProfile(ctx));
  mountNotifications(ctx);

  addEventListener("hashchange", () => store.getState().session && openFromHash());
  // Coming back to the tab reads what arrived meanwhile.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && store.getState().open?.loaded) sync.markReadSoon();
  });
  addEventListener("focus", () => store.getState().open?.loaded && sync.markReadSoon());

  const session = loadSession();
  if (session) enterApp(session);
  else login.show();

  /** An SDK client with this page's pusher-js; a rejected token ends the session. */
  function openClient(token, onUnauthorized = () => {}) {
    return createClient({
      baseUrl: location.origin,
      token,
      Pusher: globalThis.Pusher,
      // A person is waiting: after a few seconds of server errors a send shows "Not sent" with a Retry.
      retry: { maxAttempts: 4, maxDelayMs: 4000 },
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        if (res.status === 401) onUnauthorized();
        return res;
      },
      onError: (err) => console.warn("chat:", err),
    });
  }

  function enterApp(session) {
    saveSession(session);
    Object.assign(
      chat,
      openClient(() => session.token, () => {
        toast("Your session ended; please sign in again", "error");
        signOut();
      }),
    );
    store.dispatch({ type: "session/started", session });
    sync.loadRooms().then(openFromHash);
    sync.loadNotifications();
    sync.start();
  }

  function signOut() {
    if (!store.getState().session) return;
    sync.stop();
    chat.close();
    clearSession();
    store.dispatch({ type: "session/ended" });
    history.replaceState(null, "", location.pathname);
    login.show();
  }

  /** Opens a room through the address (`#room=…`), so a reload and the back button keep it. */
  function navigate(roomId) {
    const hash = `#room=${encodeURIComponent(roomId)}`;
    if (location.hash !== hash) location.hash = hash;
    else sync.openRoom(roomId);
  }

  /** Closes the open room and takes it out of the address. */
  function leaveRoom() {
    history.replaceState(null, "", location.pathname);
    sync.closeRoom();
  }

  function openFromHash() {
    const match = /^#room=(.+)$/.exec(location.hash);
    const roomId = match ? decodeURIComponent(match[1]) : null;
    const open = store.getState().open;
    if (roomId && roomId !== open?.roomId) sync.openRoom(roomId);
    if (!roomId && open) sync.closeRoom();
  }
}

main();
