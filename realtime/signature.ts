/**
 * @module HMAC signatures of the Pusher protocol: channel authorization strings and signed
 * HTTP API requests (auth_key, auth_timestamp, auth_version, body_md5, auth_signature).
 */

import { createHash, createHmac } from "node:crypto";

/** The key pair of one Pusher app. */
export interface AppCredentials {
  key: string;
  secret: string;
}

/** What a channel authorization signs: `socket_id:channel[:channel_data]`. */
export interface ChannelAuthRequest {
  socketId: string;
  channel: string;
  /** The presence `channel_data` JSON string, signed exactly as sent. */
  channelData?: string;
}

/** A signed HTTP API request as received. */
export interface ApiRequest {
  method: string;
  /** The request path as signed, e.g. `/apps/123/events`. */
  path: string;
  query: URLSearchParams;
  body: string;
  /** Current time in milliseconds; defaults to `Date.now()`. */
  nowMs?: number;
}

/** The outcome of {@linkcode verifyApiRequest}: a failure always means HTTP 401. */
export type ApiAuthResult = { ok: true } | { ok: false; error: string };

/** How far `auth_timestamp` may be from the server clock, in seconds. */
export const MAX_TIMESTAMP_SKEW_SECONDS = 600;

/** Returns the hex HMAC-SHA256 of `message` keyed with `secret`. */
export function hmacSha256Hex(secret: string, message: string): string {
  return createHmac("sha256", secret).update(message).digest("hex");
}

/** Returns the hex MD5 of the UTF-8 bytes of `body`, as `body_md5` carries it. */
export function md5Hex(body: string): string {
  return createHash("md5").update(body).digest("hex");
}

/** Compares two strings in time that depends only on their lengths. */
export function timingSafeEqualString(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Returns the `auth` value a channel authorization endpoint answers: `key:hex(hmac)`.
 *
 * @example
 * ```ts
 * const auth = signChannelAuth({ key: "k", secret: "s" }, { socketId: "1.2", channel: "private-a" });
 * ```
 */
export function signChannelAuth(
  credentials: AppCredentials,
  request: ChannelAuthRequest,
): string {
  let toSign = request.socketId + ":" + request.channel;
  if (request.channelData !== undefined) toSign += ":" + request.channelData;
  return credentials.key + ":" + hmacSha256Hex(credentials.secret, toSign);
}

/** Checks a `pusher:subscribe` auth value with a constant-time comparison. */
export function verifyChannelAuth(
  credentials: AppCredentials,
  request: ChannelAuthRequest & { auth: string },
): boolean {
  return timingSafeEqualString(
    signChannelAuth(credentials, request),
    request.auth,
  );
}

/**
 * Returns the string an HTTP API request signs: method, path and the query without
 * `auth_signature`, keys lower-cased and sorted, joined as `k=v` with `&`.
 */
export function apiStringToSign(
  method: string,
  path: string,
  query: URLSearchParams,
): string {
  const pairs: [string, string][] = [];
  for (const [key, value] of query) {
    if (key !== "auth_signature") pairs.push([key.toLowerCase(), value]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const sorted = pairs.map(([key, value]) => key + "=" + value).join("&");
  return method.toUpperCase() + "\n" + path + "\n" + sorted;
}

/**
 * Signs an HTTP API request as `npm:pusher` does: returns the query (`auth_key`, `auth_timestamp`,
 * `auth_version`, `body_md5`, `auth_signature`) that {@linkcode verifyApiRequest} accepts.
 */
export function signApiRequest(
  credentials: AppCredentials,
  request: { method: string; path: string; body: string; nowMs?: number },
): URLSearchParams {
  const query = new URLSearchParams({
    auth_key: credentials.key,
    auth_timestamp: String(Math.floor((request.nowMs ?? Date.now()) / 1000)),
    auth_version: "1.0",
    body_md5: md5Hex(request.body),
  });
  const toSign = apiStringToSign(request.method, request.path, query);
  query.set("auth_signature", hmacSha256Hex(credentials.secret, toSign));
  return query;
}

/** Verifies the key, version, timestamp window, body MD5 and signature of an HTTP API request. */
export function verifyApiRequest(
  credentials: AppCredentials,
  request: ApiRequest,
): ApiAuthResult {
  const { query } = request;
  const signature = query.get("auth_signature");
  const timestamp = query.get("auth_timestamp");
  if (
    query.get("auth_key") === null || timestamp === null || signature === null
  ) {
    return fail("Missing auth_key, auth_timestamp or auth_signature");
  }
  if (query.get("auth_key") !== credentials.key) {
    return fail("Unknown auth_key");
  }
  if (query.get("auth_version") !== "1.0") {
    return fail("Unsupported auth_version, expected 1.0");
  }
  const nowSeconds = Math.floor((request.nowMs ?? Date.now()) / 1000);
  const seconds = /^\d+$/.test(timestamp) ? Number(timestamp) : NaN;
  if (!(Math.abs(nowSeconds - seconds) <= MAX_TIMESTAMP_SKEW_SECONDS)) {
    return fail(
      `Timestamp expired: given timestamp (${timestamp}) is not within ` +
        `${MAX_TIMESTAMP_SKEW_SECONDS}s of server time (${nowSeconds})`,
    );
  }
  const bodyMd5 = query.get("body_md5");
  if (
    (request.body !== "" || bodyMd5 !== null) &&
    bodyMd5 !== md5Hex(request.body)
  ) {
    return fail("body_md5 does not match the request body");
  }
  const toSign = apiStringToSign(request.method, request.path, query);
  if (
    !timingSafeEqualString(hmacSha256Hex(credentials.secret, toSign), signature)
  ) {
    return fail(
      `Invalid signature: expected the HMAC-SHA256 hex of ${JSON.stringify(toSign)}`,
    );
  }
  return { ok: true };
}

function fail(error: string): ApiAuthResult {
  return { ok: false, error };
}
