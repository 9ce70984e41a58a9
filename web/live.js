/**
 * @module Live events through pusher-js (the global `Pusher` from /web/vendor/pusher.min.js):
 * the caller's user channel, the open room's channel, and a resync hook after every
 * (re)subscription so that web/sync.js can fill gaps with `afterSeq`.
 */
import { roomChannel, userChannel } from "../common/channels.js";

/** How the connection is doing, for the status pill. */
export const STATES = {
  initialized: "Connecting…",
  connecting: "Connecting…",
  connected: "Live",
  unavailable: "Reconnecting…",
  failed: "Offline",
  disconnected: "Offline",
};

/**
 * One realtime session; `loadConfig()` answers `GET /api/realtime/config`. Handlers:
 * - `onUserEvent(name, data)` for `private-user-{id}` events,
 * - `onRoomEvent(roomId, name, data)` for the open room's events,
 * - `onResync(roomId | null)` after a (re)subscription: fetch what may have been missed,
 * - `onState(state)` on connection state changes.
 */
export class Live {
  constructor({ token, userId, loadConfig, onUserEvent, onRoomEvent, onResync, onState }) {
    this.token = token;
    this.userId = userId;
    this.loadConfig = loadConfig;
    this.handlers = { onUserEvent, onRoomEvent, onResync, onState };
    this.pusher = null;
    this.roomId = null;
    this.roomChannel = null;
    this.state = "initialized";
    this.stopped = false;
  }

  /** Reads the pusher-js options from the server and connects. Throws when realtime is unavailable. */
  async start() {
    if (typeof globalThis.Pusher !== "function") throw new Error("pusher-js did not load");
    const config = await this.loadConfig();
    if (this.stopped) return; // signed out while the config was on its way
    const secure = location.protocol === "https:";
    const port = Number(location.port) || (secure ? 443 : 80);
    const embedded = !config.cluster || config.wsHost;
    const headers = { Authorization: `Bearer ${this.token}` };
    const options = {
      cluster: config.cluster ?? "",
      forceTLS: config.forceTLS ?? secure,
      enabledTransports: config.enabledTransports ?? ["ws", "wss"],
      channelAuthorization: {
        endpoint: config.authEndpoint ?? "/api/pusher/auth",
        transport: "ajax",
        headers,
      },
      // Signing in tells the realtime service whose connection this is, so that leaving or being
      // removed from a room ends its access to that room at once (with Pusher Channels too).
      userAuthentication: {
        endpoint: config.userAuthEndpoint ?? "/api/pusher/user-auth",
        transport: "ajax",
        headers,
      },
    };
    if (embedded) {
      options.wsHost = config.wsHost ?? location.hostname;
      options.wsPort = config.wsPort ?? port;
      options.wssPort = config.wssPort ?? config.wsPort ?? port;
    }
    this.pusher = new globalThis.Pusher(config.key, options);
    this.pusher.signin();
    this.pusher.connection.bind("state_change", ({ current }) => {
      this.state = current;
      this.handlers.onState?.(current);
    });
    const user = this.pusher.subscribe(userChannel(this.userId));
    user.bind_global((name, data) => {
      if (name.startsWith("pusher:")) {
        // Re-subscribed after a reconnect: room list and unread counts may be stale.
        if (name === "pusher:subscription_succeeded") this.handlers.onResync?.(null);
        return;
      }
      this.handlers.onUserEvent?.(name, data);
    });
    if (this.roomId) this.#subscribeRoom(this.roomId);
  }

  /** Follows one room's channel (the open room); `null` follows none. */
  watchRoom(roomId) {
    if (roomId === this.roomId) return;
    if (this.roomChannel) {
      this.roomChannel.unbind_all();
      this.pusher?.unsubscribe(this.roomChannel.name);
      this.roomChannel = null;
    }
    this.roomId = roomId;
    if (roomId && this.pusher) this.#subscribeRoom(roomId);
  }

  /**
   * Subscribes to the open room's channel again, e.g. after being added back to it: the server
   * dropped the old subscription when we were removed, and pusher-js does not know.
   */
  rejoinRoom(roomId) {
    if (roomId !== this.roomId || !this.pusher) return;
    this.watchRoom(null);
    this.watchRoom(roomId);
  }

  #subscribeRoom(roomId) {
    const channel = this.pusher.subscribe(roomChannel(roomId));
    this.roomChannel = channel;
    channel.bind_global((name, data) => {
      if (this.roomChannel !== channel) return;
      if (name === "pusher:subscription_succeeded") return this.handlers.onResync?.(roomId);
      if (name === "pusher:subscription_error") return console.warn("room subscription refused", data);
      if (name.startsWith("pusher:")) return;
      this.handlers.onRoomEvent?.(roomId, name, data);
    });
  }

  /** Whether events are flowing right now. */
  get connected() {
    return this.state === "connected";
  }

  /** Disconnects for good (sign out). */
  stop() {
    this.stopped = true;
    this.pusher?.disconnect();
    this.pusher = null;
  }
}
