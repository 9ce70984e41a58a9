/** @module The embedded gateway's interface: its options, its webhooks and its counters. */

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
  /** Most open connections; one more is closed with 4100. Default 10,000. */
  maxConnections?: number;
  /** Most open connections from one remote address (one more is closed with 4100); 0 = no cap. Default 100. */
  maxConnectionsPerIp?: number;
  /** Most channels one connection is subscribed to; one more is refused (status 429). Default 100. */
  maxSubscriptionsPerConnection?: number;
  /** Relay `client-*` events, at most 10 per second per connection. Off by default. */
  clientEvents?: boolean;
  /** A socket whose unsent bytes exceed this is dropped (closed with 4100). Default 1 MiB. */
  maxBufferedBytes?: number;
  /** The clock of the client event rate limit (tests move it by hand). Default `Date.now`. */
  now?: () => number;
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
  /**
   * Upgrades GET /app/{key}; answers non-upgrade requests with a 4xx JSON {error}.
   * `connection.remoteAddress` is the client's address, for the per-address connection cap.
   */
  handleWebSocket(req: Request, key: string, connection?: { remoteAddress?: string }): Response;
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
  /**
   * Ends a user's access to `channels` at once: every subscription to them that the user holds
   * (named by its signature's `channel_data`, or by the socket's `pusher:signin`) is dropped, with
   * `member_removed` and webhooks as for an unsubscribe. The sockets stay open for their other
   * channels, and their `client-*` events on these channels are refused from now on. A signature
   * for the user whose `issued_at` is not after this moment no longer subscribes (one kept back
   * from before); a fresh one does. Returns how many subscriptions were dropped.
   */
  revokeUser(userId: string, channels: string[]): number;
  /**
   * Closes every connection of a user (signed in as them, or holding a subscription signed for
   * them) with 4200, so pusher-js reconnects and authorizes every channel afresh: Pusher's
   * `terminate_connections`. Returns how many were closed.
   */
  terminateUser(userId: string): number;
  /** Current counters. */
  stats(): GatewayStats;
  /** Closes every socket (code 4200), stops the sweep timer and waits for pending webhooks. */
  close(): Promise<void>;
}
