/**
 * @module One pusher-js connection per client: configured from `GET /api/realtime/config`,
 * channels authorized through `POST /api/pusher/auth` and the connection signed in through
 * `POST /api/pusher/user-auth` (so that a member removed from a room loses it, also on Pusher
 * Channels), with the SDK's token and retries. A channel is shared by every listener of it.
 */
import { roomChannel, userChannel } from "../common/channels.js";
import { call } from "./api.ts";
import { ChatApiError, ChatClosedError } from "./errors.ts";
import type { HttpClient } from "./http.ts";
import type { NetworkWatch } from "./network.ts";
import { sleep, withRetry } from "./retry.ts";
import type { PusherChannel, PusherClient, PusherConstructor, RetryPolicy } from "./types.ts";

/** One listener of a room's or the user's channel. */
export interface ChannelListener {
  /** The channel is subscribed (the first time, and again after every reconnect). */
  subscribed?(): void;
  /** The connection is down: events may be missed until `subscribed` comes again. */
  interrupted?(): void;
  /** A `new-message` event of a room (the Message, or a `truncated` stub). */
  message?(data: unknown): void;
  /** Any event of the channel but pusher-js's own (`pusher:*`), `new-message` included. */
  event?(name: string, data: unknown): void;
  /** The server refused the subscription (404 never a member, 403 former member): nothing more comes. */
  refused?(error: ChatApiError): void;
}

interface ChannelEntry {
  listeners: Set<ChannelListener>;
  channel?: PusherChannel;
  /** Why the last authorization failed for good, when it did. */
  refusal?: ChatApiError;
}

/** What the realtime connection needs. */
export interface RealtimeOptions {
  http: HttpClient;
  Pusher: PusherConstructor;
  policy: RetryPolicy;
  network: NetworkWatch;
  signal: AbortSignal;
  onError: (error: unknown) => void;
}

/** pusher-js's connection states: `initialized`, `connecting`, `connected`, `unavailable`, `failed`, `disconnected`. */
export type ConnectionState = string;

/** The client's realtime connection, opened on first use. */
export class Realtime {
  readonly #options: RealtimeOptions;
  readonly #channels = new Map<string, ChannelEntry>();
  readonly #stateListeners = new Set<(state: ConnectionState) => void>();
  #state: ConnectionState = "initialized";
  #client: Promise<PusherClient> | undefined;

  constructor(options: RealtimeOptions) {
    this.#options = options;
  }

  /** The connection's state now. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Listens to a room's channel (subscribing on first use); returns the function that stops it. */
  watchRoom(roomId: string, listener: ChannelListener): () => void {
    return this.#watch(roomChannel(roomId), listener);
  }

  /** Listens to a user's own channel (subscribing on first use); returns the function that stops it. */
  watchUser(userId: string, listener: ChannelListener): () => void {
    return this.#watch(userChannel(userId), listener);
  }

  /** Calls `listener` with every connection state change (connecting on first use); returns the stop. */
  watchState(listener: (state: ConnectionState) => void): () => void {
    this.#stateListeners.add(listener);
    this.#connect().catch((error) => this.#options.onError(error));
    return () => this.#stateListeners.delete(listener);
  }

  /** Disconnects; listeners get nothing more. */
  close(): void {
    this.#channels.clear();
    this.#stateListeners.clear();
    this.#client?.then((client) => client.disconnect(), () => {});
  }

  #watch(name: string, listener: ChannelListener): () => void {
    let entry = this.#channels.get(name);
    if (!entry) {
      entry = { listeners: new Set() };
      this.#channels.set(name, entry);
      this.#subscribe(name, entry).catch((error) => this.#options.onError(error));
    }
    entry.listeners.add(listener);
    if (entry.channel?.subscribed) listener.subscribed?.();
    return () => {
      const current = this.#channels.get(name);
      if (!current?.listeners.delete(listener) || current.listeners.size > 0) return;
      this.#channels.delete(name);
      if (current.channel) this.#client?.then((client) => client.unsubscribe(name));
    };
  }

  async #subscribe(name: string, entry: ChannelEntry): Promise<void> {
    let client: PusherClient;
    try {
      client = await this.#connect();
    } catch (error) {
      if (this.#options.signal.aborted) return;
      this.#options.onError(error);
      return this.#subscribeLater(name, entry);
    }
    if (this.#channels.get(name) !== entry || this.#options.signal.aborted) return;
    const channel = client.subscribe(name);
    entry.channel = channel;
    channel.bind_global((event, data) => {
      if (this.#channels.get(name) !== entry) return;
      if (event === "pusher:subscription_succeeded") {
        for (const listener of entry.listeners) listener.subscribed?.();
      } else if (event === "pusher:subscription_error") {
        this.#subscriptionFailed(name, entry);
      } else if (!event.startsWith("pusher:")) {
        for (const listener of entry.listeners) {
          if (event === "new-message") listener.message?.(data);
          listener.event?.(event, data);
        }
      }
    });
  }

  /** A refused channel ends its listeners; any other failure subscribes again after a while. */
  #subscriptionFailed(name: string, entry: ChannelEntry): void {
    if (this.#channels.get(name) !== entry) return;
    this.#client?.then((client) => client.unsubscribe(name));
    entry.channel = undefined;
    const refusal = entry.refusal;
    if (!refusal) return this.#subscribeLater(name, entry);
    this.#channels.delete(name);
    for (const listener of entry.listeners) listener.refused?.(refusal);
  }

  #subscribeLater(name: string, entry: ChannelEntry): void {
    sleep(this.#options.policy.maxDelayMs, this.#options.signal).then(() => {
      if (this.#channels.get(name) === entry) return this.#subscribe(name, entry);
    }, () => {}) // closed meanwhile
      .catch((error) => this.#options.onError(error));
  }

  #setState(state: ConnectionState): void {
    const was = this.#state;
    this.#state = state;
    if (was === "connected" && state !== "connected") {
      for (const entry of this.#channels.values()) {
        for (const listener of entry.listeners) listener.interrupted?.();
      }
    }
    for (const listener of this.#stateListeners) listener(state);
  }

  #connect(): Promise<PusherClient> {
    if (this.#client) return this.#client;
    const opening = this.#open();
    this.#client = opening;
    opening.catch(() => {
      if (this.#client === opening) this.#client = undefined; // the next subscription tries again
    });
    return opening;
  }

  async #open(): Promise<PusherClient> {
    const { http, Pusher, network } = this.#options;
    const config = await this.#retrying(() => call(http, "getRealtimeConfig"));
    if (this.#options.signal.aborted) throw new ChatClosedError();
    const { key, authEndpoint: _channels, userAuthEndpoint: _users, ...options } = config;
    let client: PusherClient | undefined = undefined;
    const current = (socketId: string) => client?.connection.socket_id === socketId;
    client = new Pusher(key, {
      ...options,
      channelAuthorization: {
        customHandler: (
          params: { socketId: string; channelName: string },
          callback: (error: Error | null, data: { auth: string; channel_data?: string } | null) => void,
        ) => {
          const body = { socket_id: params.socketId, channel_name: params.channelName };
          this.#retrying(() => call(http, "authorizeChannel", { body })).then(
            (data) => current(params.socketId) && callback(null, data),
            (error) => {
              if (!current(params.socketId)) return; // pusher-js asks again for the new connection
              this.#recordRefusal(params.channelName, error);
              callback(error instanceof Error ? error : new Error(String(error)), null);
            },
          );
        },
      },
      userAuthentication: {
        customHandler: (
          params: { socketId: string },
          callback: (error: Error | null, data: { auth: string; user_data: string } | null) => void,
        ) => {
          const body = { socket_id: params.socketId };
          this.#retrying(() => call(http, "authenticateUser", { body })).then(
            (data) => current(params.socketId) && callback(null, data),
            (error) => {
              if (!current(params.socketId)) return;
              this.#options.onError(error);
              callback(error instanceof Error ? error : new Error(String(error)), null);
            },
          );
        },
      },
    });
    // A reconnect means the network is back: queued sends need not wait out their backoff.
    client.connection.bind("connected", () => network.wake());
    client.connection.bind("state_change", (change) => {
      if (!this.#options.signal.aborted) this.#setState((change as { current: string }).current);
    });
    client.signin();
    return client;
  }

  #recordRefusal(channelName: string, error: unknown): void {
    if (!(error instanceof ChatApiError) || (error.status !== 403 && error.status !== 404)) return;
    const entry = this.#channels.get(channelName);
    if (entry) entry.refusal = error;
  }

  #retrying<T>(attempt: () => Promise<T>): Promise<T> {
    const { policy, signal, network } = this.#options;
    return withRetry(attempt, { policy, signal, network });
  }
}
