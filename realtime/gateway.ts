/**
 * @module The embedded Pusher-protocol gateway: WebSocket connections, subscriptions, fan-out,
 * keep-alive (one sweep timer for all sockets), webhooks, and the signed HTTP events API.
 */

import { ChannelRegistry, type UnsubscribeResult } from "./channels.ts";
import type { Gateway, GatewayOptions } from "./gateway_api.ts";
import { checkPublishEvent, handleHttpApiRequest, type PublishEvent } from "./http_api.ts";
import {
  authorizeSubscription,
  checkProtocolVersion,
  type ClientFrame,
  CloseCode,
  connectionEstablishedFrame,
  errorFrame,
  eventFrame,
  exceedsFrameLimit,
  MAX_FRAME_BYTES,
  memberAddedFrame,
  memberRemovedFrame,
  parseClientFrame,
  PING_FRAME,
  PONG_FRAME,
  type ProtocolError,
  SERVER_TO_USER_PREFIX,
  signinSuccessFrame,
  type SubscriptionError,
  subscriptionErrorFrame,
  subscriptionSucceededFrame,
  verifySignin,
} from "./protocol.ts";
import { createWebhookQueue } from "./webhook_queue.ts";

interface Connection {
  readonly id: string;
  readonly socket: WebSocket;
  /** The remote address, when known (counted against `maxConnectionsPerIp`). */
  readonly address: string | undefined;
  /** `Date.now()` of the last client frame. */
  lastSeen: number;
  /** `Date.now()` of the unanswered server ping, or 0. */
  pingSentAt: number;
  closed: boolean;
  /** The user signed in with `pusher:signin`, or null. */
  userId: string | null;
  /** Per channel, the user its subscription was signed for (private and presence channels). */
  readonly grants: Map<string, string>;
  /** Start of the current one-second client event window, and events relayed in it. */
  eventWindowStart: number;
  eventsInWindow: number;
}

/**
 * How long a signature that carries `issued_at` admits a subscription: clients subscribe right
 * after authorizing, so an older one was kept back (e.g. by a member who was removed since).
 */
export const MAX_SIGNATURE_AGE_MS = 5 * 60_000;

/** Pusher's limit: client events a connection may send per second. */
export const CLIENT_EVENTS_PER_SECOND = 10;
/** Default caps (README's configuration table documents them). */
export const DEFAULT_MAX_CONNECTIONS = 10_000;
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 100;
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION = 100;

const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
const MAX_SWEEP_INTERVAL_MS = 5000;
const MIN_SWEEP_INTERVAL_MS = 50;

/**
 * Creates a gateway for one Pusher app.
 *
 * @example
 * ```ts
 * const gateway = createGateway({ appId: "1", key: "app-key", secret: "app-secret" });
 * const app = gatewayRoutes(gateway, "app-key", "1");
 * Deno.serve(app.fetch);
 * ```
 */
export function createGateway(options: GatewayOptions): Gateway {
  const credentials = { key: options.key, secret: options.secret };
  const activityTimeoutSeconds = options.activityTimeoutSeconds ?? 120;
  const activityTimeoutMs = activityTimeoutSeconds * 1000;
  const pongTimeoutMs = (options.pongTimeoutSeconds ?? 30) * 1000;
  const maxBufferedBytes = options.maxBufferedBytes ??
    DEFAULT_MAX_BUFFERED_BYTES;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const maxConnectionsPerIp = options.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP;
  const maxSubscriptions = options.maxSubscriptionsPerConnection ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION;
  const now = options.now ?? Date.now;
  const sweepIntervalMs = Math.min(
    MAX_SWEEP_INTERVAL_MS,
    Math.max(
      MIN_SWEEP_INTERVAL_MS,
      Math.min(activityTimeoutMs, pongTimeoutMs) / 4,
    ),
  );
  const registry = new ChannelRegistry<Connection>();
  const connections = new Map<string, Connection>();
  const webhooks = createWebhookQueue(options.onWebhook);
  /** Open connections per remote address. */
  const perAddress = new Map<string, number>();
  /**
   * When each (user, channel) was last revoked, oldest first: signatures issued before it are
   * refused. Entries older than MAX_SIGNATURE_AGE_MS are dropped, as such signatures expired anyway.
   */
  const revokedAt = new Map<string, number>();
  let sweepTimer: ReturnType<typeof setInterval> | undefined;
  let droppedSlowSockets = 0;
  let closed = false;

  /** Sends one already-serialized frame; never throws, drops sockets that cannot keep up. */
  function send(conn: Connection, frame: string): void {
    if (conn.closed) return;
    const socket = conn.socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    if (socket.bufferedAmount > maxBufferedBytes) {
      droppedSlowSockets++;
      drop(conn, CloseCode.OVER_CAPACITY, "Client too slow, send buffer full");
      return;
    }
    try {
      socket.send(frame);
    } catch {
      drop(conn, CloseCode.RECONNECT, "Send failed");
    }
  }

  /** Sends one frame to every subscriber of a channel but `except`. */
  function broadcast(
    channel: string,
    frame: string,
    except: Connection | undefined,
  ): void {
    const subscribers = registry.subscribers(channel);
    if (subscribers === undefined) return;
    for (const conn of subscribers) {
      if (conn !== except) send(conn, frame);
    }
  }

  /** Closes a socket now; its subscriptions are released after the current fan-out loop. */
  function drop(conn: Connection, code: number, reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    try {
      conn.socket.close(code, reason);
    } catch {
      // Already closing: the close event releases it.
    }
    queueMicrotask(() => release(conn));
  }

  /** Forgets a connection: unsubscribes it everywhere, with member_removed and webhooks. */
  function release(conn: Connection): void {
    conn.closed = true;
    if (connections.get(conn.id) !== conn) return;
    connections.delete(conn.id);
    if (conn.address !== undefined) {
      const open = (perAddress.get(conn.address) ?? 1) - 1;
      if (open > 0) perAddress.set(conn.address, open);
      else perAddress.delete(conn.address);
    }
    for (const result of registry.unsubscribeAll(conn)) {
      afterUnsubscribe(result, conn);
    }
    if (connections.size === 0) stopSweep();
  }

  /** The user a subscription belongs to: the one its signature names, else the signed-in one. */
  function holderOf(conn: Connection, channel: string): string | null {
    return conn.grants.get(channel) ?? conn.userId;
  }

  function revokeUser(userId: string, channels: string[]): number {
    const at = now();
    for (const [key, time] of revokedAt) {
      if (at - time <= MAX_SIGNATURE_AGE_MS) break;
      revokedAt.delete(key);
    }
    let dropped = 0;
    for (const channel of channels) {
      const key = JSON.stringify([userId, channel]);
      revokedAt.delete(key); // re-inserted last: the map stays in time order
      revokedAt.set(key, at);
      const subscribers = registry.subscribers(channel);
      if (subscribers === undefined) continue;
      for (const conn of [...subscribers]) {
        if (holderOf(conn, channel) !== userId) continue;
        conn.grants.delete(channel);
        afterUnsubscribe(registry.unsubscribe(channel, conn), conn);
        dropped++;
      }
    }
    return dropped;
  }

  function terminateUser(userId: string): number {
    let closedCount = 0;
    for (const conn of [...connections.values()]) {
      const owned = conn.userId === userId || [...conn.grants.values()].includes(userId);
      if (!owned || conn.closed) continue;
      drop(conn, CloseCode.RECONNECT, "Connection terminated by the server");
      closedCount++;
    }
    return closedCount;
  }

  function afterUnsubscribe(result: UnsubscribeResult, conn: Connection): void {
    if (result.memberRemoved !== null) {
      broadcast(
        result.channel,
        memberRemovedFrame(result.channel, result.memberRemoved),
        conn,
      );
      webhooks.push({
        name: "member_removed",
        channel: result.channel,
        user_id: result.memberRemoved,
      });
    }
    if (result.vacated) {
      webhooks.push({ name: "channel_vacated", channel: result.channel });
    }
  }

  function subscribe(
    conn: Connection,
    frame: Extract<ClientFrame, { type: "subscribe" }>,
  ): void {
    const { channel } = frame;
    if (!registry.isSubscribed(channel, conn) && registry.channelCountOf(conn) >= maxSubscriptions) {
      send(
        conn,
        subscriptionErrorFrame(channel, {
          type: "LimitReached",
          error: `A connection may subscribe to at most ${maxSubscriptions} channels`,
          status: 429,
        }),
      );
      return;
    }
    if (channel.startsWith(SERVER_TO_USER_PREFIX)) return subscribeServerToUser(conn, channel);
    const decision = authorizeSubscription(credentials, {
      socketId: conn.id,
      ...frame,
    });
    if (!decision.ok) {
      send(conn, subscriptionErrorFrame(channel, decision.error));
      return;
    }
    const stale = decision.userId !== null && decision.issuedAt !== null &&
      staleSignature(channel, decision.userId, decision.issuedAt);
    if (stale) {
      send(conn, subscriptionErrorFrame(channel, stale));
      return;
    }
    if (decision.userId !== null) conn.grants.set(channel, decision.userId);
    const result = registry.subscribe(channel, conn, decision.member);
    if (result.occupied) webhooks.push({ name: "channel_occupied", channel });
    const presence = decision.member === null ? null : registry.presence(channel);
    send(conn, subscriptionSucceededFrame(channel, presence));
    if (result.memberAdded !== null) {
      broadcast(channel, memberAddedFrame(channel, result.memberAdded), conn);
      webhooks.push({
        name: "member_added",
        channel,
        user_id: result.memberAdded.userId,
      });
    }
  }

  /** Why a signature issued at `issuedAt` for the user no longer admits them, or null when it does. */
  function staleSignature(channel: string, userId: string, issuedAt: number): SubscriptionError | null {
    const at = now();
    if (at - issuedAt > MAX_SIGNATURE_AGE_MS) {
      return { type: "AuthError", error: "Signature expired: authorize the channel again", status: 401 };
    }
    const revoked = revokedAt.get(JSON.stringify([userId, channel]));
    if (revoked !== undefined && issuedAt <= revoked) {
      return { type: "AuthError", error: `Access to ${channel} ended for this user`, status: 403 };
    }
    return null;
  }

  /** `#server-to-user-{id}`: only the socket signed in as that user (pusher-js joins it after signin). */
  function subscribeServerToUser(conn: Connection, channel: string): void {
    if (conn.userId === null || channel !== SERVER_TO_USER_PREFIX + conn.userId) {
      send(
        conn,
        subscriptionErrorFrame(channel, {
          type: "AuthError",
          error: "Only the user signed in on this connection may join its server-to-user channel",
          status: 403,
        }),
      );
      return;
    }
    registry.subscribe(channel, conn);
    send(conn, subscriptionSucceededFrame(channel, null));
  }

  function signin(conn: Connection, frame: Extract<ClientFrame, { type: "signin" }>): void {
    const user = verifySignin(credentials, { socketId: conn.id, ...frame });
    if (user === null || (conn.userId !== null && conn.userId !== user.id)) {
      send(
        conn,
        errorFrame({
          code: CloseCode.UNAUTHORIZED,
          message: user === null
            ? "Invalid signin signature"
            : "This connection is signed in as another user",
        }),
      );
      return;
    }
    conn.userId = user.id;
    send(conn, signinSuccessFrame(user.userData));
  }

  /** Whether one more client event fits this second's budget; says so once per second when not. */
  function withinClientEventRate(conn: Connection): boolean {
    const at = now();
    if (at - conn.eventWindowStart >= 1000) {
      conn.eventWindowStart = at;
      conn.eventsInWindow = 0;
    }
    if (conn.eventsInWindow++ < CLIENT_EVENTS_PER_SECOND) return true;
    if (conn.eventsInWindow === CLIENT_EVENTS_PER_SECOND + 1) {
      send(
        conn,
        errorFrame({
          code: CloseCode.CLIENT_EVENT_REJECTED,
          message: `Client event rejected due to rate limit (${CLIENT_EVENTS_PER_SECOND} per second)`,
        }),
      );
    }
    return false;
  }

  function clientEvent(
    conn: Connection,
    frame: Extract<ClientFrame, { type: "client_event" }>,
  ): void {
    const { channel, event, data } = frame;
    if (!options.clientEvents) {
      send(
        conn,
        errorFrame({
          code: CloseCode.CLIENT_EVENT_REJECTED,
          message: "Client event rejected - client events are disabled on this server",
        }),
      );
      return;
    }
    if (!registry.isSubscribed(channel, conn)) {
      send(
        conn,
        errorFrame({
          code: CloseCode.UNAUTHORIZED,
          message: `Client event rejected - not subscribed to ${channel}`,
        }),
      );
      return;
    }
    if (!withinClientEventRate(conn)) return;
    const userId = registry.memberOf(channel, conn)?.userId;
    broadcast(
      channel,
      eventFrame(channel, { name: event, data, userId }),
      conn,
    );
    webhooks.push({
      name: "client_event",
      channel,
      event,
      data,
      socket_id: conn.id,
      ...(userId === undefined ? {} : { user_id: userId }),
    });
  }

  function handleMessage(conn: Connection, raw: unknown): void {
    if (conn.closed) return;
    conn.lastSeen = Date.now();
    conn.pingSentAt = 0;
    const tooBig = typeof raw === "string" ? exceedsFrameLimit(raw) : byteLength(raw) > MAX_FRAME_BYTES;
    if (tooBig) {
      // Deno has buffered it already; closing stops the client from sending more of the same.
      drop(conn, CloseCode.MESSAGE_TOO_BIG, `Frames are limited to ${MAX_FRAME_BYTES} bytes`);
      return;
    }
    if (typeof raw !== "string") {
      send(
        conn,
        errorFrame({ code: null, message: "Binary frames are not supported" }),
      );
      return;
    }
    const frame = parseClientFrame(raw);
    switch (frame.type) {
      case "ping":
        return send(conn, PONG_FRAME);
      case "pong":
        return;
      case "subscribe":
        return subscribe(conn, frame);
      case "unsubscribe":
        return afterUnsubscribe(
          registry.unsubscribe(frame.channel, conn),
          conn,
        );
      case "client_event":
        return clientEvent(conn, frame);
      case "signin":
        return signin(conn, frame);
      case "error":
        return send(conn, errorFrame(frame.error));
    }
  }

  /** The one timer: pings silent sockets and closes those that did not answer in time. */
  function sweep(): void {
    const now = Date.now();
    for (const conn of connections.values()) {
      if (conn.socket.readyState !== WebSocket.OPEN) continue;
      if (conn.pingSentAt !== 0) {
        if (now - conn.pingSentAt >= pongTimeoutMs) {
          drop(conn, CloseCode.PONG_NOT_RECEIVED, "Pong reply not received");
        }
      } else if (now - conn.lastSeen >= activityTimeoutMs) {
        conn.pingSentAt = now;
        send(conn, PING_FRAME);
      }
    }
  }

  function startSweep(): void {
    sweepTimer ??= setInterval(sweep, sweepIntervalMs);
  }

  function stopSweep(): void {
    if (sweepTimer === undefined) return;
    clearInterval(sweepTimer);
    sweepTimer = undefined;
  }

  function rejection(key: string, url: URL, address: string | undefined): ProtocolError | null {
    if (key !== options.key) {
      return {
        code: CloseCode.APP_NOT_FOUND,
        message: `App key ${key} does not exist`,
      };
    }
    const version = checkProtocolVersion(url.searchParams.get("protocol"));
    if (version !== null) return version;
    if (connections.size >= maxConnections) {
      return { code: CloseCode.OVER_CAPACITY, message: "Over capacity" };
    }
    if (
      maxConnectionsPerIp > 0 && address !== undefined &&
      (perAddress.get(address) ?? 0) >= maxConnectionsPerIp
    ) {
      return { code: CloseCode.OVER_CAPACITY, message: "Too many connections from this address" };
    }
    return null;
  }

  /** A socket id nobody can predict: two random 64-bit numbers, in Pusher's `\d+.\d+` shape. */
  function newSocketId(): string {
    for (;;) {
      const [a, b] = crypto.getRandomValues(new BigUint64Array(2));
      const id = `${a}.${b}`;
      if (!connections.has(id)) return id;
    }
  }

  function accept(socket: WebSocket, address: string | undefined): void {
    const conn: Connection = {
      id: newSocketId(),
      socket,
      address,
      lastSeen: Date.now(),
      pingSentAt: 0,
      closed: false,
      userId: null,
      grants: new Map(),
      eventWindowStart: 0,
      eventsInWindow: 0,
    };
    connections.set(conn.id, conn);
    if (address !== undefined) perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    startSweep();
    socket.onopen = () => {
      if (conn.closed) {
        // The gateway closed while this socket was still connecting.
        socket.close(CloseCode.RECONNECT, "Server shutting down");
        return;
      }
      conn.lastSeen = Date.now();
      send(conn, connectionEstablishedFrame(conn.id, activityTimeoutSeconds));
    };
    socket.onmessage = (event) => handleMessage(conn, event.data);
    socket.onclose = () => release(conn);
    socket.onerror = () => release(conn);
  }

  function handleWebSocket(req: Request, key: string, connection: { remoteAddress?: string } = {}): Response {
    const { remoteAddress } = connection;
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return key === options.key
        ? Response.json({ error: "Expected a WebSocket upgrade" }, {
          status: 426,
        })
        : Response.json({ error: `App key ${key} does not exist` }, {
          status: 404,
        });
    }
    if (closed) {
      return Response.json({ error: "Gateway is closed" }, { status: 503 });
    }
    // Deno's own idle timeout would arm a timer per socket; the sweep does that job.
    const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
    socket.binaryType = "arraybuffer";
    const refused = rejection(key, new URL(req.url), remoteAddress);
    if (refused === null) {
      accept(socket, remoteAddress);
    } else {
      // As Pusher does: accept, say why in pusher:error, then close with the same code.
      socket.onopen = () => {
        socket.send(errorFrame(refused));
        socket.close(refused.code ?? CloseCode.RECONNECT, refused.message);
      };
    }
    return response;
  }

  function publish(events: PublishEvent[]): void {
    for (const event of events) checkPublishEvent(event);
    fanOut(events);
  }

  /** Sends validated events: one serialization per event, the same string to every socket; none without one. */
  function fanOut(events: PublishEvent[]): void {
    for (const event of events) {
      if (!registry.subscribers(event.channel)?.size) continue; // nobody listens: no frame to build
      const except = event.socketId === undefined ? undefined : connections.get(event.socketId);
      broadcast(event.channel, eventFrame(event.channel, event), except);
    }
  }

  return {
    handleWebSocket,
    handleHttpApi: (req) =>
      handleHttpApiRequest(req, {
        ...credentials,
        appId: options.appId,
        publish: fanOut, // the handler has validated every event already
        terminateUser,
        channelCounts: (channel) => ({
          subscriptionCount: registry.subscribers(channel)?.size ?? 0,
          userCount: registry.userCount(channel),
        }),
      }),
    publish,
    revokeUser,
    terminateUser,
    stats: () => ({
      connections: connections.size,
      channels: registry.channelCount,
      subscriptions: registry.subscriptionCount,
      droppedSlowSockets,
    }),
    async close() {
      closed = true;
      const open = [...connections.values()];
      // Close them all first, so releasing one sends no member_removed to the others.
      for (const conn of open) drop(conn, CloseCode.RECONNECT, "Server shutting down");
      for (const conn of open) release(conn);
      stopSweep();
      await webhooks.drain();
    },
  };
}

function byteLength(raw: unknown): number {
  if (raw instanceof ArrayBuffer) return raw.byteLength;
  if (ArrayBuffer.isView(raw)) return raw.byteLength;
  if (raw instanceof Blob) return raw.size;
  return 0;
}
