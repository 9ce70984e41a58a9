/**
 * @module Signed, expiring links to this server's upload routes: the PUT link
 * of `POST /api/chat/uploads` and the `attachmentUrl` of a message. HMAC-SHA256
 * over the action, the upload id and the expiry, with a secret kept in KV.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** What a link lets its holder do. */
export type LinkAction = "get" | "put";

/** How long a PUT link stays valid. */
export const PUT_LINK_TTL_MS = 15 * 60_000;
/** Attachment links are valid at least this long: they end on the next hour boundary after it. */
export const GET_LINK_MIN_TTL_MS = 60 * 60_000;

/** The path of an upload's bytes; both links point at it. */
export function uploadContentPath(uploadId: string): string {
  return `/api/chat/uploads/${encodeURIComponent(uploadId)}/content`;
}

/** Whether a request path is an upload's bytes (public: the link's signature is the credential). */
export function isUploadContentPath(path: string): boolean {
  return /^\/api\/chat\/uploads\/[^/]+\/content$/.test(path);
}

/** Signs and checks the links of one server (every process of a deployment shares the secret). */
export class LinkSigner {
  readonly #secret: string;
  readonly #now: () => number;

  constructor(secret: string, options: { now?: () => number } = {}) {
    this.#secret = secret;
    this.#now = options.now ?? Date.now;
  }

  /**
   * A link to the upload's bytes, relative to the API's origin. `get` links
   * end on an hour boundary at least `GET_LINK_MIN_TTL_MS` away, so one message
   * keeps the same link for an hour (browser caches keep working).
   *
   * @example signer.link("get", "up_1") // "/api/chat/uploads/up_1/content?expires=…&signature=…"
   */
  link(action: LinkAction, uploadId: string): string {
    const now = this.#now();
    const hour = 60 * 60_000;
    const expiresMs = action === "put"
      ? now + PUT_LINK_TTL_MS
      : Math.ceil((now + GET_LINK_MIN_TTL_MS) / hour) * hour;
    const expires = Math.ceil(expiresMs / 1000);
    const signature = this.#sign(action, uploadId, expires);
    return `${uploadContentPath(uploadId)}?expires=${expires}&signature=${signature}`;
  }

  /** Whether `query` carries a valid, unexpired signature for `action` on the upload. */
  verify(action: LinkAction, uploadId: string, query: { expires?: string; signature?: string }): boolean {
    const expires = Number(query.expires);
    if (!Number.isSafeInteger(expires) || expires * 1000 <= this.#now()) return false;
    const given = new TextEncoder().encode(query.signature ?? "");
    const wanted = new TextEncoder().encode(this.#sign(action, uploadId, expires));
    return given.length === wanted.length && timingSafeEqual(given, wanted);
  }

  #sign(action: LinkAction, uploadId: string, expires: number): string {
    return createHmac("sha256", this.#secret).update(`${action}\n${uploadId}\n${expires}`).digest(
      "base64url",
    );
  }
}
