/**
 * @module One pusher-js connection per client: configured from `GET /api/realtime/config`,
 * channels authorized through `POST /api/pusher/auth` and the connection signed in through
 * `POST /api/pusher/user-auth` (so that a member removed from a room loses it, also on Pusher
 * Channels), with the SDK's token and retries. Room channels are shared by every listener.
 */
import { roomChannel } from "../common/channels.js";
import { call } from "./api.ts";
import { ChatApiError, ChatClosedError } from "./errors.ts";
import type { HttpClient } from "./http.ts";
import type { NetworkWatch } from "./network.ts";
import { sleep, withRetry } from "./retry.ts";
import type { PusherChannel, PusherClient, PusherConstructor, RetryPolicy } from "./types.ts";

/** One listener of a room channel. */
export interface RoomListener {
  /** The channel is subscribed (the first time, and again after every reconnect). */
  subscribed(): void;
  /** A `new-message` event (the Message, or a `truncated` stub). */
  message(data: unknown): void;
  /** The room refused the subscription (404 never a member, 403 former member): nothing more comes. */
  refused(error: ChatApiError): void;
}

interface RoomEntry {
  listeners: Set<RoomListener>;
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

/** The client's realtime connection, opened on first use. */
export class Realtime {
  readonly #options: RealtimeOptions;
  readonly #rooms = new Map<string, RoomEntry>();
  #client: Promise<PusherClient> | undefined;

  constructor(options: RealtimeOptions) {
    this.#options = options;
  }

  /** Listens to a room's channel (subscribing on first use); returns the function that stops it. */
  watchRoom(roomId: string, listener: RoomListener): () => void {
    let entry = this.#rooms.get(roomId);
    if (!entry) {
      entry = { listeners: new Set() };
      this.#rooms.set(roomId, entry);
      this.#subscribe(roomId, entry).catch((error) => this.#options.onError(error));
    }
    entry.listeners.add(listener);
    if (entry.channel?.subscribed) listener.subscribed();
    return () => {
      const current = this.#rooms.get(roomId);
      if (!current?.listeners.delete(listener) || current.listeners.size > 0) return;
      this.#rooms.delete(roomId);
      if (current.channel) this.#client?.then((client) => client.unsubscribe(roomChannel(roomId)));
    };
  }

  /** Disconnects; listeners get nothing more. */
  close(): void {
    this.#rooms.clear();
    this.#client?.then((client) => client.disconnect(), () => {});
  }

  async #subscribe(roomId: string, entry: RoomEntry): Promise<void> {
    let client: PusherClient;
    try {
      client = await this.#connect();
    } catch (error) {
      if (this.#options.signal.aborted) return;
      this.#options.onError(error);
      return this.#subscribeLater(roomId, entry);
    }
    if (this.#rooms.get(roomId) !== entry || this.#options.signal.aborted) return;
    const channel = client.subscribe(roomChannel(roomId));
    entry.channel = channel;
    channel.bind("pusher:subscription_succeeded", () => {
      for (const listener of entry.listeners) listener.subscribed();
    });
    channel.bind("new-message", (data) => {
      for (const listener of entry.listeners) listener.message(data);
    });
    channel.bind("pusher:subscription_error", () => this.#subscriptionFailed(roomId, entry));
  }

  /** A refused room ends its listeners; any other failure subscribes again after a while. */
  #subscriptionFailed(roomId: string, entry: RoomEntry): void {
    if (this.#rooms.get(roomId) !== entry) return;
    this.#client?.then((client) => client.unsubscribe(roomChannel(roomId)));
    entry.channel = undefined;
    const refusal = entry.refusal;
    if (!refusal) return this.#subscribeLater(roomId, entry);
    this.#rooms.delete(roomId);
    for (const listener of entry.listeners) listener.refused(refusal);
  }

  #subscribeLater(roomId: string, entry: RoomEntry): void {
    sleep(this.#options.policy.maxDelayMs, this.#options.signal).then(() => {
      if (this.#rooms.get(roomId) === entry) return this.#subscribe(roomId, entry);
    }, () => {}) // closed meanwhile
      .catch((error) => this.#options.onError(error));
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
    client.signin();
    return client;
  }

  #recordRefusal(channelName: string, error: unknown): void {
    if (!(error instanceof ChatApiError) || (error.status !== 403 && error.status !== 404)) return;
    for (const [roomId, entry] of this.#rooms) {
      if (roomChannel(roomId) === channelName) entry.refusal = error;
    }
  }

  #retrying<T>(attempt: () => Promise<T>): Promise<T> {
    const { policy, signal, network } = this.#options;
    return withRetry(attempt, { policy, signal, network });
  }
}
