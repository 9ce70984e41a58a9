/**
 * @module Pusher protocol 7 on the wire: name rules, client frame parsing and validation,
 * and the server frames (serialized once, sent as strings).
 */

import { type AppCredentials, hmacSha256Hex, timingSafeEqualString, verifyChannelAuth } from "./signature.ts";

/** The only protocol version spoken (pusher-js 8 sends `protocol=7`). */
export const PROTOCOL_VERSION = 7;
/** Longest channel name accepted. */
export const MAX_CHANNEL_NAME_LENGTH = 200;
/** Longest event name accepted. */
export const MAX_EVENT_NAME_LENGTH = 200;
/** Largest client frame answered normally and largest event `data`, in UTF-8 bytes. */
export const MAX_MESSAGE_BYTES = 10 * 1024;
/**
 * Largest client frame the gateway keeps a connection open for (a 10 KB client event and its
 * envelope fit): a bigger one closes the connection with 1009.
 */
export const MAX_FRAME_BYTES = 16 * 1024;
/** The channel pusher-js joins after `pusher:signin`, followed by the signed-in user's id. */
export const SERVER_TO_USER_PREFIX = "#server-to-user-";

/** Close and error codes of the protocol that the gateway uses. */
export const CloseCode = {
  /** WebSocket's own "message too big" (RFC 6455): a frame over {@linkcode MAX_FRAME_BYTES}. */
  MESSAGE_TOO_BIG: 1009,
  /** The app key is unknown (do not reconnect). */
  APP_NOT_FOUND: 4001,
  /** The `protocol` query parameter is not a number. */
  INVALID_VERSION: 4006,
  /** The protocol version is not supported. */
  UNSUPPORTED_PROTOCOL: 4007,
  /** No `protocol` query parameter. */
  NO_PROTOCOL: 4008,
  /** The connection may not do this (used for client events on unsubscribed channels). */
  UNAUTHORIZED: 4009,
  /** Over capacity, or too slow to keep up: reconnect with backoff. */
  OVER_CAPACITY: 4100,
  /** Generic reconnect-now, e.g. the server is shutting down. */
  RECONNECT: 4200,
  /** No `pusher:pong` arrived in time. */
  PONG_NOT_RECEIVED: 4201,
  /** A client event was rejected: client events are off, over the rate limit, or malformed. */
  CLIENT_EVENT_REJECTED: 4301,
} as const;

/** What a channel name's prefix makes it. */
export type ChannelKind = "public" | "private" | "encrypted" | "presence";

/** A presence member: `user_id` (always a string here) and its `user_info`. */
export interface PresenceMember {
  userId: string;
  userInfo: unknown;
}

/** The presence part of `pusher_internal:subscription_succeeded`. */
export interface PresenceSnapshot {
  ids: string[];
  hash: Record<string, unknown>;
  count: number;
}

/** A `pusher:error` to send back: `code` is null where Pusher sends none. */
export interface ProtocolError {
  code: number | null;
  message: string;
}

/** A client frame, parsed and checked as far as it can be without connection state. */
export type ClientFrame =
  | { type: "ping" }
  | { type: "pong" }
  | {
    type: "subscribe";
    channel: string;
    auth: string | undefined;
    channelData: string | undefined;
  }
  | { type: "unsubscribe"; channel: string }
  | { type: "client_event"; event: string; channel: string; data: string }
  | { type: "signin"; auth: string; userData: string }
  | { type: "error"; error: ProtocolError };

/** The `data` of `pusher:subscription_error`, as pusher-js reports it. */
export interface SubscriptionError {
  type: "AuthError" | "InvalidChannel" | "LimitReached";
  error: string;
  status: number;
}

/**
 * The outcome of {@linkcode authorizeSubscription}. `userId` is the user the signature names:
 * the presence member, or the `user_id` of a private channel's signed `channel_data`; `issuedAt`
 * its signed `issued_at` (ms), when the signer put one in.
 */
export type SubscriptionDecision =
  | { ok: true; member: PresenceMember | null; userId: string | null; issuedAt: number | null }
  | { ok: false; error: SubscriptionError };

/** A user signed in with `pusher:signin`: the `id` and `user_info` of the signed `user_data`. */
export interface SignedInUser {
  id: string;
  info: unknown;
  /** The `user_data` string as signed, echoed in `pusher:signin_success`. */
  userData: string;
}

const CHANNEL_NAME = /^[A-Za-z0-9_\-=@,.;]+$/;
const SOCKET_ID = /^\d+\.\d+$/;
const PING: ClientFrame = { type: "ping" };
const PONG: ClientFrame = { type: "pong" };

/** `pusher:ping`, sent when a client has been silent for the activity timeout. */
export const PING_FRAME = '{"event":"pusher:ping","data":"{}"}';
/** `pusher:pong`, the answer to a client's `pusher:ping`. */
export const PONG_FRAME = '{"event":"pusher:pong","data":"{}"}';

/** Checks a channel name: 1–200 characters of `[A-Za-z0-9_\-=@,.;]`. */
export function isValidChannelName(name: unknown): name is string {
  return typeof name === "string" && name.length <= MAX_CHANNEL_NAME_LENGTH &&
    CHANNEL_NAME.test(name);
}

/** Checks a socket id: `<digits>.<digits>`. */
export function isValidSocketId(id: unknown): id is string {
  return typeof id === "string" && SOCKET_ID.test(id);
}

/** Tells a channel's kind from its prefix (`private-encrypted-` before `private-`). */
export function channelKind(name: string): ChannelKind {
  if (name.startsWith("presence-")) return "presence";
  if (name.startsWith("private-encrypted-")) return "encrypted";
  if (name.startsWith("private-")) return "private";
  return "public";
}

/** Counts the UTF-8 bytes of a string without allocating. */
export function utf8ByteLength(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) {
      bytes += 1;
    } else if (
      code >= 0xd800 && code <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))
    ) {
      bytes += 2; // the pair's two UTF-16 units (already counted) become 4 bytes
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/** Tells whether a string is over {@linkcode MAX_MESSAGE_BYTES} in UTF-8, counting only when needed. */
export function exceedsMessageLimit(text: string): boolean {
  if (text.length > MAX_MESSAGE_BYTES) return true;
  return text.length * 3 > MAX_MESSAGE_BYTES &&
    utf8ByteLength(text) > MAX_MESSAGE_BYTES;
}

/** Checks the `protocol` query parameter of a connection URL; null means it is accepted. */
export function checkProtocolVersion(
  protocol: string | null,
): ProtocolError | null {
  if (protocol === null) {
    return {
      code: CloseCode.NO_PROTOCOL,
      message: "No protocol version supplied",
    };
  }
  if (!/^\d+$/.test(protocol)) {
    return {
      code: CloseCode.INVALID_VERSION,
      message: "Invalid version string format",
    };
  }
  if (Number(protocol) !== PROTOCOL_VERSION) {
    return {
      code: CloseCode.UNSUPPORTED_PROTOCOL,
      message: `Unsupported protocol version ${protocol}, only ${PROTOCOL_VERSION} is spoken`,
    };
  }
  return null;
}

/** Parses one text frame from a client into a {@linkcode ClientFrame}. */
export function parseClientFrame(raw: string): ClientFrame {
  if (exceedsMessageLimit(raw)) {
    return errorOf(null, `Message exceeds ${MAX_MESSAGE_BYTES} bytes`);
  }
  let message: unknown;
  try {
    message = JSON.parse(raw);
  } catch {
    return errorOf(null, "Message is not valid JSON");
  }
  if (!isRecord(message) || typeof message.event !== "string") {
    return errorOf(null, "Message must be a JSON object with a string event");
  }
  const event = message.event;
  switch (event) {
    case "pusher:ping":
      return PING;
    case "pusher:pong":
      return PONG;
    case "pusher:subscribe":
      return parseSubscribe(message.data);
    case "pusher:unsubscribe":
      return parseUnsubscribe(message.data);
    case "pusher:signin":
      return parseSignin(message.data);
  }
  if (event.startsWith("client-")) return parseClientEvent(event, message);
  return errorOf(
    null,
    `Unsupported event ${JSON.stringify(event.slice(0, 50))}`,
  );
}

function parseSubscribe(data: unknown): ClientFrame {
  const fields = dataObject(data);
  if (fields === null || typeof fields.channel !== "string") {
    return errorOf(null, "pusher:subscribe needs data.channel");
  }
  const { auth, channel_data: channelData } = fields;
  if (
    (auth !== undefined && typeof auth !== "string") ||
    (channelData !== undefined && typeof channelData !== "string")
  ) {
    return errorOf(
      null,
      "pusher:subscribe auth and channel_data must be strings",
    );
  }
  return { type: "subscribe", channel: fields.channel, auth, channelData };
}

function parseUnsubscribe(data: unknown): ClientFrame {
  const fields = dataObject(data);
  if (fields === null || typeof fields.channel !== "string") {
    return errorOf(null, "pusher:unsubscribe needs data.channel");
  }
  return { type: "unsubscribe", channel: fields.channel };
}

function parseSignin(data: unknown): ClientFrame {
  const fields = dataObject(data);
  if (fields === null || typeof fields.auth !== "string" || typeof fields.user_data !== "string") {
    return errorOf(null, "pusher:signin needs data.auth and data.user_data strings");
  }
  return { type: "signin", auth: fields.auth, userData: fields.user_data };
}

function parseClientEvent(
  event: string,
  message: Record<string, unknown>,
): ClientFrame {
  const channel = message.channel;
  if (event.length > MAX_EVENT_NAME_LENGTH) {
    return errorOf(
      CloseCode.CLIENT_EVENT_REJECTED,
      "Client event rejected - event name too long",
    );
  }
  if (!isValidChannelName(channel)) {
    return errorOf(
      CloseCode.CLIENT_EVENT_REJECTED,
      "Client event rejected - invalid channel",
    );
  }
  const kind = channelKind(channel);
  if (kind !== "private" && kind !== "presence") {
    return errorOf(
      CloseCode.CLIENT_EVENT_REJECTED,
      "Client event rejected - only supported on private and presence channels",
    );
  }
  // Relayed data is always a string: pusher-js sends objects, and parses strings again.
  const data = typeof message.data === "string" ? message.data : JSON.stringify(message.data) ?? "{}";
  return { type: "client_event", event, channel, data };
}

/**
 * Decides a `pusher:subscribe`: checks the channel name, and for private and presence channels
 * the auth signature (constant-time) and the presence `channel_data`.
 */
export function authorizeSubscription(
  credentials: AppCredentials,
  request: {
    socketId: string;
    channel: string;
    auth: string | undefined;
    channelData: string | undefined;
  },
): SubscriptionDecision {
  const { channel } = request;
  if (!isValidChannelName(channel)) {
    return denied(
      "InvalidChannel",
      `Invalid channel name ${JSON.stringify(channel)}`,
      400,
    );
  }
  const kind = channelKind(channel);
  if (kind === "public") {
    return denied("AuthError", "Public channels are not served: use private- or presence- channels", 403);
  }
  if (request.auth === undefined) {
    return denied("AuthError", "Missing auth signature", 401);
  }
  if (kind === "presence" && request.channelData === undefined) {
    return denied(
      "AuthError",
      "Missing channel_data for a presence channel",
      401,
    );
  }
  // A private channel's signature may cover `channel_data` too: it then names the user.
  const signed = {
    socketId: request.socketId,
    channel,
    channelData: request.channelData,
    auth: request.auth,
  };
  if (!verifyChannelAuth(credentials, signed)) {
    return denied("AuthError", `Invalid signature for channel ${channel}`, 401);
  }
  if (request.channelData === undefined) return { ok: true, member: null, userId: null, issuedAt: null };
  const member = parsePresenceMember(request.channelData);
  if (member === null) {
    return denied("AuthError", "channel_data must be JSON with a user_id", 401);
  }
  return {
    ok: true,
    member: kind === "presence" ? member : null,
    userId: member.userId,
    issuedAt: parseIssuedAt(request.channelData),
  };
}

/** The signed `issued_at` of `channel_data` (ms since the epoch), or null without one. */
function parseIssuedAt(channelData: string): number | null {
  const parsed: unknown = JSON.parse(channelData); // parsePresenceMember has parsed it already
  const issuedAt = isRecord(parsed) ? parsed.issued_at : undefined;
  return typeof issuedAt === "number" && Number.isFinite(issuedAt) ? issuedAt : null;
}

/**
 * Checks a `pusher:signin`: `auth` must be `key:hex(hmac(secret, "socket_id::user::user_data"))`
 * (constant-time) and `user_data` JSON with a non-empty string `id`. Null when it is not.
 */
export function verifySignin(
  credentials: AppCredentials,
  request: { socketId: string; auth: string; userData: string },
): SignedInUser | null {
  const expected = credentials.key + ":" +
    hmacSha256Hex(credentials.secret, `${request.socketId}::user::${request.userData}`);
  if (!timingSafeEqualString(expected, request.auth)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.userData);
  } catch {
    return null;
  }
  if (!isRecord(parsed) || typeof parsed.id !== "string" || parsed.id === "") return null;
  return { id: parsed.id, info: parsed.user_info ?? null, userData: request.userData };
}

/** Reads `{user_id, user_info}` from presence `channel_data`; a numeric user_id becomes a string. */
export function parsePresenceMember(
  channelData: string,
): PresenceMember | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(channelData);
  } catch {
    return null;
  }
  if (!isRecord(parsed)) return null;
  const id = parsed.user_id;
  if (
    !(typeof id === "string" && id !== "") &&
    !(typeof id === "number" && isFinite(id))
  ) {
    return null;
  }
  return { userId: String(id), userInfo: parsed.user_info ?? null };
}

/** `pusher:connection_established`, with its data JSON-encoded as pusher-js expects. */
export function connectionEstablishedFrame(
  socketId: string,
  activityTimeoutSeconds: number,
): string {
  const data = JSON.stringify({
    socket_id: socketId,
    activity_timeout: activityTimeoutSeconds,
  });
  return JSON.stringify({ event: "pusher:connection_established", data });
}

/** An event on a channel; `userId` is added to client events on presence channels. */
export function eventFrame(
  channel: string,
  event: { name: string; data: string; userId?: string },
): string {
  if (event.userId === undefined) {
    return JSON.stringify({ event: event.name, channel, data: event.data });
  }
  return JSON.stringify({
    event: event.name,
    channel,
    data: event.data,
    user_id: event.userId,
  });
}

/** `pusher:signin_success` with the signed `user_data`, JSON-encoded as pusher-js expects. */
export function signinSuccessFrame(userData: string): string {
  return JSON.stringify({ event: "pusher:signin_success", data: JSON.stringify({ user_data: userData }) });
}

/** Tells whether a frame of `text` is over {@linkcode MAX_FRAME_BYTES} in UTF-8. */
export function exceedsFrameLimit(text: string): boolean {
  if (text.length > MAX_FRAME_BYTES) return true;
  return text.length * 3 > MAX_FRAME_BYTES && utf8ByteLength(text) > MAX_FRAME_BYTES;
}

/** `pusher:error` with `{code, message}`. */
export function errorFrame(error: ProtocolError): string {
  return JSON.stringify({ event: "pusher:error", data: error });
}

/** `pusher_internal:subscription_succeeded`; presence channels carry `{presence}`. */
export function subscriptionSucceededFrame(
  channel: string,
  presence: PresenceSnapshot | null,
): string {
  const data = presence === null ? "{}" : JSON.stringify({ presence });
  return JSON.stringify({
    event: "pusher_internal:subscription_succeeded",
    channel,
    data,
  });
}

/** `pusher:subscription_error` with `{type, error, status}`. */
export function subscriptionErrorFrame(
  channel: string,
  error: SubscriptionError,
): string {
  return JSON.stringify({
    event: "pusher:subscription_error",
    channel,
    data: error,
  });
}

/** `pusher_internal:member_added` with `{user_id, user_info}`. */
export function memberAddedFrame(
  channel: string,
  member: PresenceMember,
): string {
  const data = JSON.stringify({
    user_id: member.userId,
    user_info: member.userInfo,
  });
  return JSON.stringify({
    event: "pusher_internal:member_added",
    channel,
    data,
  });
}

/** `pusher_internal:member_removed` with `{user_id}`. */
export function memberRemovedFrame(channel: string, userId: string): string {
  const data = JSON.stringify({ user_id: userId });
  return JSON.stringify({
    event: "pusher_internal:member_removed",
    channel,
    data,
  });
}

function dataObject(data: unknown): Record<string, unknown> | null {
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch {
      return null;
    }
  }
  return isRecord(data) ? data : null;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorOf(code: number | null, message: string): ClientFrame {
  return { type: "error", error: { code, message } };
}

function denied(
  type: SubscriptionError["type"],
  error: string,
  status: number,
): SubscriptionDecision {
  return { ok: false, error: { type, error, status } };
}
