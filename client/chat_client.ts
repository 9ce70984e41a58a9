/**
 * @module `createChatClient`: every REST operation of the API typed from its OpenAPI document,
 * sends that survive flaky networks, and `onMessage`, each message of a room once and in `seq`
 * order across reconnects. Platform entry points (`mod.ts`, `node.ts`) pick the pusher-js build.
 */
import { call } from "./api.ts";
import { ChatApiError, ChatClosedError } from "./errors.ts";
import { HttpClient } from "./http.ts";
import { NetworkWatch } from "./network.ts";
import { Realtime } from "./realtime.ts";
import { DEFAULT_RETRY, sleep, withRetry } from "./retry.ts";
import { RoomFeed } from "./room_feed.ts";
import type { Message, QueryParams, RequestBody, Result } from "./routes.ts";
import { SendQueue } from "./send_queue.ts";
import type { PusherConstructor, RetryPolicy, TokenSource } from "./types.ts";

/** How to reach the server and as whom. */
export interface ChatClientOptions {
  /** The server's origin, e.g. `https://chat.example.org` (a path prefix is kept). */
  baseUrl: string;
  /** The caller's bearer token, or a function that returns a current one (asked again once after a 401). */
  token: TokenSource;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** How sends, group creations, message pages and realtime authorization retry. */
  retry?: Partial<RetryPolicy>;
  /** Errors that belong to no call (realtime authorization, a listener that threw); default: console.error. */
  onError?: (error: unknown) => void;
  /** The pusher-js class; the entry point passes the build for its platform. */
  Pusher?: PusherConstructor;
  /** How often `onMessage` pages while realtime is down or unavailable (ms; default 5000). */
  pollMs?: number;
}

/** A message to send: `roomId` or `receiverId` (direct room), `content`, and the optional fields. */
export type SendInput = RequestBody<"sendMessage">;

/** Which page of messages to read. */
export type MessagesPage = Omit<QueryParams<"listMessages">, "roomId">;

/** Options of `onMessage`. */
export interface OnMessageOptions {
  /** Deliver the messages after this seq first (0: the whole history); default: only new ones. */
  afterSeq?: number;
  /** Errors of this listener; default: the client's `onError`. */
  onError?: (error: unknown) => void;
  /** The room refused the caller (404 never a member, 403 former member): the listener has ended. */
  onEnd?: (error: ChatApiError) => void;
  /** Called once the start is known: `afterSeq`, or the room's last seq when the listener started. */
  onStart?: (afterSeq: number) => void;
}

/** Options of `onRoomEvent` and `onUserEvent`. */
export interface OnEventOptions {
  /** The channel is subscribed: the first time, and again after every reconnect (events may have been missed). */
  onSubscribed?: () => void;
  /** The room refused the caller (404 never a member, 403 former member): the listener has ended. */
  onEnd?: (error: ChatApiError) => void;
}

/** A realtime event: its name (API.md's "Realtime" table, e.g. `message-updated`) and its data. */
export type EventHandler = (name: string, data: unknown) => void;

/** A client of one server, as one user. Every method resolves with the operation's documented 200 body. */
export interface ChatClient {
  /**
   * Sends a message; resolves once it is stored. A `clientMessageId` is generated when not
   * given, and every retry (network failures, 5xx, 429 after `Retry-After`; held while offline)
   * sends the same one, so the message is stored once. Sends are stored in the order they were made.
   */
  send(input: SendInput): Promise<Result<"sendMessage">>;
  /** Step 1 of an attachment: an upload in a room, and where to PUT its bytes (`uploadAttachment` does both). */
  createUpload(input: RequestBody<"createUpload">): Promise<Result<"createUpload">>;
  /** The caller's rooms, newest activity first. */
  rooms(query?: QueryParams<"listRooms">): Promise<Result<"listRooms">>;
  /** A page of a room's messages: newest first, `beforeId` for older, `afterSeq` for newer (oldest first). */
  messages(roomId: string, page?: MessagesPage): Promise<Result<"listMessages">>;
  /** Marks the room read up to its last message (or the newest of `messageIds`). */
  read(roomId: string, options?: { messageIds?: string[] }): Promise<Result<"markRoomRead">>;
  /** The direct room with a user (created on first use). */
  startDirect(receiverId: string): Promise<Result<"startDirectRoom">>;
  /** Shows or hides the caller's typing indicator. */
  typing(roomId: string, isTyping: boolean): Promise<Result<"setTyping">>;
  /** Creates a group; a `clientGroupId` is generated when not given, and retries reuse it. */
  createGroup(input: RequestBody<"createGroup">): Promise<Result<"createGroup">>;
  editMessage(messageId: string, content: string): Promise<Result<"editMessage">>;
  deleteMessage(messageId: string): Promise<Result<"deleteMessage">>;
  /** The message as it is now and its earlier texts, newest first. */
  messageVersions(messageId: string): Promise<Result<"listMessageVersions">>;
  /** Adds the caller's reaction, or removes it when present (not retried: a toggle). */
  toggleReaction(messageId: string, emoji: string): Promise<Result<"toggleReaction">>;
  addMembers(roomId: string, userIds: string[]): Promise<Result<"addMembers">>;
  /** Removes a member; the caller's own id leaves the room. */
  removeMember(roomId: string, userId: string): Promise<Result<"removeMember">>;
  setMemberRole(roomId: string, userId: string, role: RequestBody<"setMemberRole">["role"]): Promise<
    Result<"setMemberRole">
  >;
  updateRoom(roomId: string, change: RequestBody<"updateRoom">): Promise<Result<"updateRoom">>;
  archiveRoom(roomId: string, archived: boolean): Promise<Result<"archiveRoom">>;
  search(query: QueryParams<"searchMessages">): Promise<Result<"searchMessages">>;
  user(userId: string): Promise<Result<"getUser">>;
  follow(userId: string): Promise<Result<"followUser">>;
  unfollow(userId: string): Promise<Result<"unfollowUser">>;
  block(userId: string): Promise<Result<"blockUser">>;
  unblock(userId: string): Promise<Result<"unblockUser">>;
  followers(userId: string, page?: QueryParams<"listFollowers">): Promise<Result<"listFollowers">>;
  following(userId: string, page?: QueryParams<"listFollowing">): Promise<Result<"listFollowing">>;
  notifications(page?: QueryParams<"listNotifications">): Promise<Result<"listNotifications">>;
  notificationUnreadCount(): Promise<Result<"getNotificationUnreadCount">>;
  /** Marks the given notifications read, or all of them. */
  readNotifications(ids?: string[]): Promise<Result<"markNotificationsRead">>;
  me(): Promise<Result<"getMe">>;
  preferences(): Promise<Result<"getPreferences">>;
  updatePreferences(change: RequestBody<"updatePreferences">): Promise<Result<"updatePreferences">>;
  blockedUsers(page?: QueryParams<"listBlockedUsers">): Promise<Result<"listBlockedUsers">>;
  /** The pusher-js options of this server. */
  realtimeConfig(): Promise<Result<"getRealtimeConfig">>;
  /**
   * Calls `handler` with every message of the room once, in `seq` order: after `afterSeq` when
   * given (the history first), else after the room's last message when the listener starts
   * (its first request; `onStart` says which). Gaps after a reconnect are filled from
   * `GET /api/chat/messages?afterSeq`. Returns the function that stops it.
   */
  onMessage(roomId: string, handler: (message: Message) => void, options?: OnMessageOptions): () => void;
  /**
   * Calls `handler` with every event of the room's channel as it arrives (`new-message` too,
   * unordered and not gap-filled: use `onMessage` for messages). Returns the function that stops it.
   */
  onRoomEvent(roomId: string, handler: EventHandler, options?: OnEventOptions): () => void;
  /** Calls `handler` with every event of the caller's own channel (`unread-updated`, `member-added`, …). */
  onUserEvent(handler: EventHandler, options?: Omit<OnEventOptions, "onEnd">): () => void;
  /** Calls `handler` with each realtime connection state (pusher-js's: `connecting`, `connected`, `unavailable`, …). */
  onConnectionState(handler: (state: string) => void): () => void;
  /** Ends realtime, stops every listener and rejects calls still waiting (ChatClosedError). */
  close(): void;
}

/** Most rooms a listener looks through to find a room's last seq (100 per page). */
const MAX_ROOM_PAGES = 100;
const DEFAULT_POLL_MS = 5000;

/** Creates a client; nothing is sent until the first call, realtime connects on the first `onMessage`. */
export function createClient(options: ChatClientOptions & { Pusher: PusherConstructor }): ChatClient {
  const closing = new AbortController();
  const signal = closing.signal;
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const network = new NetworkWatch();
  const context = { policy, signal, network };
  const onError = options.onError ?? ((error: unknown) => console.error("durable-chat client:", error));
  const http = new HttpClient({
    baseUrl: options.baseUrl,
    token: options.token,
    fetch: options.fetch,
    signal,
  });
  const outbox = new SendQueue(context);
  const realtime = new Realtime({ http, Pusher: options.Pusher, policy, network, signal, onError });
  const feeds = new Set<RoomFeed<Message>>();
  const retrying = <T>(attempt: () => Promise<T>) => withRetry(attempt, context);
  /** Runs a listener; what it throws goes to `onError`, not into pusher-js. */
  const guard = (listener: () => void) => {
    try {
      listener();
    } catch (error) {
      onError(error);
    }
  };

  const lastSeq = async (roomId: string): Promise<number> => {
    for (const archived of ["false", "true"] as const) {
      let cursor: string | undefined;
      for (let page = 0; page < MAX_ROOM_PAGES; page++) {
        const query = { limit: 100, archived, ...(cursor ? { cursor } : {}) };
        const result = await retrying(() => call(http, "listRooms", { query }));
        const room = result.rooms.find((r) => r.id === roomId);
        if (room) return room.lastSeq;
        cursor = result.nextCursor;
        if (!cursor) break;
      }
    }
    throw new ChatApiError(404, "Room not found");
  };

  return {
    send(input) {
      const body = { ...input, clientMessageId: input.clientMessageId ?? randomId() };
      return outbox.enqueue(() => call(http, "sendMessage", { body }));
    },
    createUpload: (body) => call(http, "createUpload", { body }),
    rooms: (query) => call(http, "listRooms", { query }),
    messages: (roomId, page = {}) => call(http, "listMessages", { query: { roomId, ...page } }),
    read: (roomId, options = {}) => call(http, "markRoomRead", { body: { roomId, ...options } }),
    startDirect: (receiverId) => call(http, "startDirectRoom", { body: { receiverId } }),
    typing: (roomId, isTyping) => call(http, "setTyping", { body: { roomId, isTyping } }),
    createGroup(input) {
      const body = { ...input, clientGroupId: input.clientGroupId ?? randomId() };
      return outbox.enqueue(() => call(http, "createGroup", { body }));
    },
    editMessage: (id, content) => call(http, "editMessage", { path: { id }, body: { content } }),
    deleteMessage: (id) => call(http, "deleteMessage", { path: { id } }),
    messageVersions: (id) => call(http, "listMessageVersions", { path: { id } }),
    toggleReaction: (id, emoji) => call(http, "toggleReaction", { path: { id }, body: { emoji } }),
    addMembers: (id, userIds) => call(http, "addMembers", { path: { id }, body: { userIds } }),
    removeMember: (id, userId) => call(http, "removeMember", { path: { id, userId } }),
    setMemberRole: (id, userId, role) =>
      call(http, "setMemberRole", { path: { id, userId }, body: { role } }),
    updateRoom: (id, change) => call(http, "updateRoom", { path: { id }, body: change }),
    archiveRoom: (id, archived) => call(http, "archiveRoom", { path: { id }, body: { archived } }),
    search: (query) => call(http, "searchMessages", { query }),
    user: (id) => call(http, "getUser", { path: { id } }),
    follow: (id) => call(http, "followUser", { path: { id } }),
    unfollow: (id) => call(http, "unfollowUser", { path: { id } }),
    block: (id) => call(http, "blockUser", { path: { id } }),
    unblock: (id) => call(http, "unblockUser", { path: { id } }),
    followers: (id, query) => call(http, "listFollowers", { path: { id }, query }),
    following: (id, query) => call(http, "listFollowing", { path: { id }, query }),
    notifications: (query) => call(http, "listNotifications", { query }),
    notificationUnreadCount: () => call(http, "getNotificationUnreadCount"),
    readNotifications: (ids) => call(http, "markNotificationsRead", { body: ids ? { ids } : {} }),
    me: () => call(http, "getMe"),
    preferences: () => call(http, "getPreferences"),
    updatePreferences: (change) => call(http, "updatePreferences", { body: change }),
    blockedUsers: (query) => call(http, "listBlockedUsers", { query }),
    realtimeConfig: () => call(http, "getRealtimeConfig"),

    onMessage(roomId, handler, listenerOptions = {}) {
      if (signal.aborted) throw new ChatClosedError();
      const report = listenerOptions.onError ?? onError;
      const feed: RoomFeed<Message> = new RoomFeed<Message>({
        roomId,
        ...(listenerOptions.afterSeq !== undefined ? { afterSeq: listenerOptions.afterSeq } : {}),
        deliver: handler,
        page: (afterSeq) =>
          retrying(() => call(http, "listMessages", { query: { roomId, afterSeq, limit: 100 } })),
        lastSeq: () => lastSeq(roomId),
        onStart: listenerOptions.onStart ?? (() => {}),
        onError: report,
        onEnd: (error) => {
          stop();
          (listenerOptions.onEnd ?? report)(error);
        },
        backoff: () => sleep(policy.maxDelayMs, signal, network),
        pollMs: options.pollMs ?? DEFAULT_POLL_MS,
      });
      const unwatch = realtime.watchRoom(roomId, feed);
      const stop = () => {
        feed.stop();
        feeds.delete(feed);
        unwatch();
      };
      feeds.add(feed);
      feed.start();
      return stop;
    },

    onRoomEvent(roomId, handler, eventOptions = {}) {
      if (signal.aborted) throw new ChatClosedError();
      const stop = realtime.watchRoom(roomId, {
        subscribed: eventOptions.onSubscribed,
        event: (name, data) => guard(() => handler(name, data)),
        refused: (error) => {
          stop();
          (eventOptions.onEnd ?? onError)(error);
        },
      });
      return stop;
    },

    onUserEvent(handler, eventOptions = {}) {
      if (signal.aborted) throw new ChatClosedError();
      let stop = () => {};
      let stopped = false;
      retrying(() => call(http, "getMe")).then((me) => {
        if (stopped || signal.aborted) return;
        stop = realtime.watchUser(me.id, {
          subscribed: eventOptions.onSubscribed,
          event: (name, data) => guard(() => handler(name, data)),
        });
      }, (error) => signal.aborted || onError(error));
      return () => {
        stopped = true;
        stop();
      };
    },

    onConnectionState(handler) {
      if (signal.aborted) throw new ChatClosedError();
      return realtime.watchState((state) => guard(() => handler(state)));
    },

    close() {
      if (signal.aborted) return;
      closing.abort();
      for (const feed of feeds) feed.stop();
      feeds.clear();
      outbox.close();
      realtime.close();
      network.close();
    },
  };
}

/** 128 random bits as hex: a `clientMessageId` (crypto.randomUUID needs a secure context). */
function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
