/**
 * @module The embedded Pusher-protocol gateway: WebSocket connections, subscriptions, fan-out,
 * keep-alive (one sweep timer for all sockets), webhooks, and the signed HTTP events API.
 */

import { ChannelRegistry, type UnsubscribeResult } from "./channels.ts";
import { checkPublishEvent, handleHttpApiRequest, type PublishEvent } from "./http_api.ts";
import {
  authorizeSubscription,
  checkProtocolVersion,
  type ClientFrame,
  CloseCode,
  connectionEstablishedFrame,
  errorFrame,
  eventFrame,
  memberAddedFrame,
  memberRemovedFrame,
  parseClientFrame,
  PING_FRAME,
  PONG_FRAME,
  type ProtocolError,
  subscriptionErrorFrame,
  subscriptionSucceededFrame,
} from "./protocol.ts";

/** How the gateway is set up. */
export interface GatewayOptions {
  appId: string;
  key: string;
  secret: string;
  /** Seconds of client silence before a server ping; sent in connection_established. Default 120. */
  activityTimeoutSeconds?: number;
  /** Seconds to wait for `pusher:pong` after a server ping before closing with 4201. Default 30. */
  pongTimeoutSeconds?: number;
  /** Pusher-webhook-shaped events, delivered in order, never awaited by the socket path. */
  onWebhook?: (events: WebhookEvent[]) => void | Promise<void>;
  /** Most open connections; one more is closed with 4100. Unlimited by default. */
  maxConnections?: number;
  /** A socket whose unsent bytes exceed this is dropped (closed with 4100). Default 1 MiB. */
  maxBufferedBytes?: number;
}

/** One webhook event, shaped as in Pusher's webhook bodies. */
export interface WebhookEvent {
  name:
    | "channel_occupied"
    | "channel_vacated"
    | "member_added"
    | "member_removed"
    | "client_event";
  channel: string;
  user_id?: string;
  event?: string;
  data?: string;
  socket_id?: string;
}

/** Counters for health checks and benchmarks. */
export interface GatewayStats {
  /** Open (or opening) WebSocket connections. */
  connections: number;
  /** Channels with at least one subscriber. */
  channels: number;
  /** (socket, channel) subscriptions. */
  subscriptions: number;
  /** Sockets dropped because they could not keep up. */
  droppedSlowSockets: number;
}

/** The gateway a Hono app mounts (see `gatewayRoutes`). */
export interface Gateway {
  /** Upgrades GET /app/{key}; answers non-upgrade requests with a 4xx JSON {error}. */
  handleWebSocket(req: Request, key: string): Response;
  /** Pusher HTTP API: POST /apps/{appId}/events and /apps/{appId}/batch_events (req.url holds the signed query). */
  handleHttpApi(req: Request): Promise<Response>;
  /**
   * Publishes in-process (same semantics as an events API call, no signing).
   *
   * @throws {PusherApiError} when an event breaks the API rules (bad name, data over 10 KB),
   * before anything is sent
   */
  publish(
    events: {
      channel: string;
      name: string;
      data: string;
      socketId?: string;
    }[],
  ): void;
  /** Current counters. */
  stats(): GatewayStats;
  /** Closes every socket (code 4200), stops the sweep timer and waits for pending webhooks. */
  close(): Promise<void>;
}

interface Connection {
  readonly id: string;
  readonly socket: WebSocket;
  /** `Date.now()` of the last client frame. */
  lastSeen: number;
  /** `Date.now()` of the unanswered server ping, or 0. */
  pingSentAt: number;
  closed: boolean;
}

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
  const socketIdPrefix = crypto.getRandomValues(new Uint32Array(1))[0]!;
  let socketCounter = 0;
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
    for (const result of registry.unsubscribeAll(conn)) {
      afterUnsubscribe(result, conn);
    }
    if (connections.size === 0) stopSweep();
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
    const decision = authorizeSubscription(credentials, {
      socketId: conn.id,
      ...frame,
    });
    const { channel } = frame;
    if (!decision.ok) {
      send(conn, subscriptionErrorFrame(channel, decision.error));
      return;
    }
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

  function clientEvent(
    conn: Connection,
    frame: Extract<ClientFrame, { type: "client_event" }>,
  ): void {
    const { channel, event, data } = frame;
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

  function rejection(key: string, url: URL): ProtocolError | null {
    if (key !== options.key) {
      return {
        code: CloseCode.APP_NOT_FOUND,
        message: `App key ${key} does not exist`,
      };
    }
    const version = checkProtocolVersion(url.searchParams.get("protocol"));
    if (version !== null) return version;
    if (
      options.maxConnections !== undefined &&
      connections.size >= options.maxConnections
    ) {
      return { code: CloseCode.OVER_CAPACITY, message: "Over capacity" };
    }
    return null;
  }

  function accept(socket: WebSocket): void {
    const conn: Connection = {
      id: `${socketIdPrefix}.${++socketCounter}`,
      socket,
      lastSeen: Date.now(),
      pingSentAt: 0,
      closed: false,
    };
    connections.set(conn.id, conn);
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

  function handleWebSocket(req: Request, key: string): Response {
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
    const refused = rejection(key, new URL(req.url));
    if (refused === null) {
      accept(socket);
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

  /** Sends validated events: one serialization per event, the same string to every socket. */
  function fanOut(events: PublishEvent[]): void {
    for (const event of events) {
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
        channelCounts: (channel) => ({
          subscriptionCount: registry.subscribers(channel)?.size ?? 0,
          userCount: registry.userCount(channel),
        }),
      }),
    publish,
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

interface WebhookQueue {
  push(event: WebhookEvent): void;
  /** Resolves once every batch pushed so far has been delivered. */
  drain(): Promise<void>;
}

/** Batches webhook events per microtask and delivers the batches one after another. */
function createWebhookQueue(
  onWebhook: GatewayOptions["onWebhook"],
): WebhookQueue {
  if (onWebhook === undefined) {
    return {
      push() {},
      drain: () => Promise.resolve(),
    };
  }
  let pending: WebhookEvent[] = [];
  let chain: Promise<void> = Promise.resolve();
  const flush = () => {
    const batch = pending;
    pending = [];
    chain = chain.then(() => onWebhook(batch)).catch((error) => {
      console.error("realtime: onWebhook failed", error);
    });
  };
  return {
    push(event) {
      if (pending.length === 0) queueMicrotask(flush);
      pending.push(event);
    },
    async drain() {
      await Promise.resolve(); // lets an already scheduled flush run first
      await chain;
    },
  };
}
