/**
 * @module Who may subscribe to which channel (channel authorization), webhook
 * verification, presence from webhooks, and the `pusher-js` options clients get.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type Pusher from "pusher";
import { isActive, memberOf } from "../actors/room_head.ts";
import type { RealtimeConfig } from "../config.ts";
import { HttpError } from "../http_error.ts";
import { applyPresence, type PresenceChange } from "../storage/presence.ts";
import type { Profile } from "../storage/records.ts";
import { readHead } from "../storage/room_reads.ts";
import { parseChannel } from "../common/channels.js";

/** The app credentials shared by the publisher, the gateway and the auth endpoint. */
export interface PusherCredentials {
  appId: string;
  key: string;
  secret: string;
}

/** One webhook event, as Pusher (and the embedded gateway) report them. */
export interface PresenceWebhookEvent {
  name: string;
  channel: string;
  user_id?: string;
}

/**
 * Signs a subscription for `user`: their own user channel, and the private and
 * presence channels of rooms they are an active member of. With `bindUser` (the
 * embedded gateway) private channels are signed with `channel_data` `{user_id, issued_at}`, and
 * presence channels carry `issued_at` too.
 *
 * @throws {HttpError} 404 `Room not found` for a room the user never belonged to (as for a
 * missing one), 403 for a former member and for any other channel.
 */
export async function authorizeChannel(
  kv: Deno.Kv,
  pusher: Pusher,
  user: Profile,
  request: { socketId: string; channel: string; bindUser: boolean },
): Promise<{ auth: string; channel_data?: string }> {
  const { socketId, channel } = request;
  // The embedded gateway learns whose subscription it is from the signed channel_data, and can
  // drop it when the user leaves the room; `issued_at` lets it refuse a signature kept back from
  // before. Pusher Channels takes no channel_data on private channels.
  const bound = (extra: Record<string, unknown> = {}) => ({
    user_id: user.id,
    ...extra,
    issued_at: Date.now(),
  });
  const privateAuth = () =>
    request.bindUser
      ? pusher.authorizeChannel(socketId, channel, bound())
      : pusher.authorizeChannel(socketId, channel);
  const named = parseChannel(channel);
  if (named === null) throw new HttpError(403, "Channel not allowed");
  if (named.kind === "user") {
    if (named.userId !== user.id) throw new HttpError(403, "Not your user channel");
    return privateAuth();
  }
  const head = (await readHead(kv, named.roomId)).value;
  const member = head ? memberOf(head, user.id) : undefined;
  // Never a member answers like no such room: direct room ids are derived from the pair.
  if (member === undefined) throw new HttpError(404, "Room not found");
  if (!isActive(member)) throw new HttpError(403, "Not a member of this room");
  if (named.kind === "presence") {
    const member = { user_id: user.id, user_info: { name: user.name, avatar: user.avatar } };
    return pusher.authorizeChannel(socketId, channel, request.bindUser ? bound(member) : member);
  }
  return privateAuth();
}

/**
 * Signs a `pusher:signin` for `user` on `socketId` (pusher-js `userAuthentication`): the
 * connection is then known as the user's, so `terminateUserConnections` reaches it.
 */
export function authenticateUser(
  pusher: Pusher,
  request: { user: Profile; socketId: string },
): { auth: string; user_data: string } {
  const { user, socketId } = request;
  return pusher.authenticateUser(socketId, {
    id: user.id,
    user_info: { name: user.name, avatar: user.avatar },
  });
}

/** Whether a webhook carries our key and a valid `X-Pusher-Signature` (constant-time). */
export function verifyWebhook(
  credentials: PusherCredentials,
  request: { key: string | undefined; signature: string | undefined; body: string },
): boolean {
  if (request.key !== credentials.key || !request.signature) return false;
  const expected = createHmac("sha256", credentials.secret).update(request.body).digest();
  const given = /^[0-9a-f]{64}$/i.test(request.signature) ? hexBytes(request.signature) : null;
  return given !== null && timingSafeEqual(expected, given);
}

/** How far a webhook's `time_ms` may be from the server clock: older ones are replays. */
export const MAX_WEBHOOK_SKEW_MS = 5 * 60_000;

/** Whether a webhook's `time_ms` is within {@linkcode MAX_WEBHOOK_SKEW_MS} of `now`. */
export function isFreshWebhook(timeMs: number, now = Date.now()): boolean {
  return Math.abs(now - timeMs) <= MAX_WEBHOOK_SKEW_MS;
}

/**
 * Updates online state from webhook events, in order: a user's own channel
 * occupied or vacated, and presence members added or removed. Other events are
 * ignored. With `ttlMs` (this server's own gateway) the state expires unless
 * renewed. Returns the changes applied.
 */
export async function applyPresenceWebhook(
  kv: Deno.Kv,
  events: PresenceWebhookEvent[],
  options: { now?: number; ttlMs?: number } = {},
): Promise<PresenceChange[]> {
  const changes = events.flatMap((event): PresenceChange[] => {
    const named = parseChannel(event.channel);
    if (named?.kind === "user" && (event.name === "channel_occupied" || event.name === "channel_vacated")) {
      return [{ userId: named.userId, channel: event.channel, present: event.name === "channel_occupied" }];
    }
    if (
      named?.kind === "presence" && typeof event.user_id === "string" &&
      (event.name === "member_added" || event.name === "member_removed")
    ) {
      return [{ userId: event.user_id, channel: event.channel, present: event.name === "member_added" }];
    }
    return [];
  });
  for (const change of changes) await applyPresence(kv, change, options.now ?? Date.now(), options.ttlMs);
  return changes;
}

/** The `pusher-js` options a client connects with. */
export interface ClientConfig {
  key: string;
  cluster: string;
  wsHost?: string;
  wsPort?: number;
  wssPort?: number;
  forceTLS: boolean;
  enabledTransports?: ("ws" | "wss")[];
  authEndpoint: string;
  /** pusher-js `userAuthentication.endpoint`, for `pusher.signin()`. */
  userAuthEndpoint: string;
}

/**
 * The client options: for the embedded gateway, the host and port the client
 * reached us on (so proxies work), else the server's port; for Pusher, its cluster or host.
 */
export function clientConfig(
  realtime: RealtimeConfig,
  key: string,
  request: { url: string; host?: string; forwardedProto?: string; serverPort?: number },
): ClientConfig {
  const url = new URL(request.url);
  const tls = (request.forwardedProto?.split(",")[0]?.trim() ?? url.protocol.replace(":", "")) === "https";
  const origin = `${tls ? "https" : "http"}://${request.host ?? url.host}`;
  const authEndpoint = `${origin}/api/pusher/auth`;
  const userAuthEndpoint = `${origin}/api/pusher/user-auth`;
  if (realtime.kind === "pusher") {
    if (!realtime.host) {
      return { key, cluster: realtime.cluster ?? "mt1", forceTLS: true, authEndpoint, userAuthEndpoint };
    }
    return {
      key,
      cluster: realtime.cluster ?? "mt1",
      wsHost: realtime.host,
      ...(realtime.useTLS ? { wssPort: realtime.port ?? 443 } : { wsPort: realtime.port ?? 80 }),
      forceTLS: realtime.useTLS,
      enabledTransports: [realtime.useTLS ? "wss" : "ws"],
      authEndpoint,
      userAuthEndpoint,
    };
  }
  const reached = new URL(origin);
  const port = reached.port ? Number(reached.port) : request.host ? (tls ? 443 : 80) : request.serverPort;
  return {
    key,
    cluster: "mt1", // pusher-js insists on a cluster; wsHost takes precedence
    wsHost: reached.hostname,
    ...(tls ? { wssPort: port ?? 443 } : { wsPort: port ?? 80 }),
    forceTLS: tls,
    enabledTransports: [tls ? "wss" : "ws"],
    authEndpoint,
    userAuthEndpoint,
  };
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
