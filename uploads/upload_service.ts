/**
 * @module The upload use cases behind the HTTP routes: create an upload (a
 * room command, so membership and the write limit hold), receive its bytes
 * (embedded store), confirm bytes sent straight to S3 before a send attaches
 * them, and serve an attachment to whoever holds a valid link.
 */
import type { RoomActors } from "../actors/room_actor.ts";
import { HttpError } from "../http_error.ts";
import { parseMessageId } from "../storage/ids.ts";
import { keys } from "../storage/keys.ts";
import type { Profile, StoredMessage, UploadRecord, UploadStoreKind } from "../storage/records.ts";
import { normalizeContentType } from "./content_types.ts";
import type { KvUploadStore } from "./kv_store.ts";
import type { LinkSigner } from "./signing.ts";
import type { PutTarget, UploadStore } from "./store.ts";
import { UPLOAD_TTL_MS } from "./sweep.ts";

/** What the upload use cases work with. */
export interface UploadDeps {
  kv: Deno.Kv;
  actors: RoomActors;
  signer: LinkSigner;
  /** Where new uploads go: S3 when configured, else KV. */
  store: UploadStore;
  /** The embedded store, which receives PUTs and serves uploads kept in KV. */
  kvStore: KvUploadStore;
  /** Every store an existing upload may be in, by kind. */
  stores: Partial<Record<UploadStoreKind, UploadStore>>;
  /** `UPLOAD_MAX_BYTES`. */
  maxBytes: number;
}

/** What a client asks to upload. */
export interface UploadRequest {
  roomId: string;
  name: string;
  contentType: string;
  size: number;
}

/** The answer to `POST /api/chat/uploads`. */
export interface CreatedUpload {
  upload: { id: string; name: string; contentType: string; size: number };
  put: PutTarget;
}

/**
 * Creates an upload in a room the caller is an active member of, and says where to PUT its bytes.
 *
 * @throws {HttpError} 413 over `UPLOAD_MAX_BYTES`, 400 an unknown content type, 404 unknown room or
 *   never a member, 403 a former member, 429 over the write limit.
 */
export async function createUpload(
  deps: UploadDeps,
  user: Profile,
  request: UploadRequest,
): Promise<CreatedUpload> {
  if (request.size > deps.maxBytes) {
    throw new HttpError(413, `size: larger than the largest upload (${deps.maxBytes} bytes)`);
  }
  const contentType = normalizeContentType(request.contentType);
  if (contentType === null) throw new HttpError(400, `contentType: ${request.contentType} is not accepted`);
  const now = Date.now();
  const upload: UploadRecord = {
    id: newUploadId(),
    roomId: request.roomId,
    ownerId: user.id,
    name: request.name,
    contentType,
    size: request.size,
    store: deps.store.kind,
    createdAt: now,
    sweepAt: now + UPLOAD_TTL_MS,
  };
  await deps.actors.dispatch(request.roomId, { kind: "createUpload", userId: user.id, upload });
  const { id, name, size } = upload;
  return { upload: { id, name, contentType, size }, put: await deps.store.putTarget(upload) };
}

/**
 * Stores the bytes of a PUT to the embedded store's signed link.
 *
 * @throws {HttpError} 403 without a valid signature, 404 unknown upload, 400 a body of another size
 *   or type, 409 already complete.
 */
export async function receiveUpload(
  deps: UploadDeps,
  uploadId: string,
  request: {
    query: { expires?: string; signature?: string };
    headers: Headers;
    body: ReadableStream<Uint8Array> | null;
  },
): Promise<UploadRecord> {
  if (!deps.signer.verify("put", uploadId, request.query)) {
    throw new HttpError(403, "Invalid or expired link");
  }
  const entry = await deps.kv.get<UploadRecord>(keys.upload(uploadId));
  if (entry.value === null) throw new HttpError(404, "Upload not found");
  const upload = entry.value;
  if (upload.store !== "kv") throw new HttpError(400, "This upload goes to object storage, not here");
  const length = request.headers.get("Content-Length");
  if (length !== null && Number(length) !== upload.size) {
    throw new HttpError(400, `Body is ${length} bytes, the upload declared ${upload.size}`);
  }
  const type = request.headers.get("Content-Type");
  if (type !== null && normalizeContentType(type) !== upload.contentType) {
    throw new HttpError(400, `Content-Type: the upload declared ${upload.contentType}`);
  }
  const manifest = await deps.kvStore.receive(entry, request.body ?? new Blob([]).stream());
  return { ...upload, complete: manifest };
}

/**
 * Before a send attaches an upload whose bytes went straight to object
 * storage: checks what arrived and records it complete. Anything amiss with
 * the upload itself is left for the send to refuse.
 *
 * @throws {HttpError} 400 when the stored object does not match what was declared.
 */
export async function confirmUpload(deps: UploadDeps, uploadId: string, userId: string): Promise<void> {
  const entry = await deps.kv.get<UploadRecord>(keys.upload(uploadId));
  const upload = entry.value;
  if (upload === null || upload.ownerId !== userId || upload.complete || upload.messageId) return;
  const store = deps.stores[upload.store];
  const manifest = await store?.inspect(upload);
  if (!manifest) return;
  // Lost only to another confirmation or the sweep; the send reads the record afresh either way.
  await deps.kv.atomic().check(entry).set(entry.key, { ...upload, complete: manifest }).commit();
}

/**
 * The answer to a download link: the bytes (or a redirect to them) of an
 * upload that a visible message holds.
 *
 * @throws {HttpError} 403 without a valid signature, 404 unknown upload, never attached, or the
 *   message deleted, 416 a range outside the file.
 */
export async function serveUpload(
  deps: UploadDeps,
  uploadId: string,
  request: { query: { expires?: string; signature?: string }; range?: string },
): Promise<Response> {
  const { query } = request;
  if (!deps.signer.verify("get", uploadId, query)) throw new HttpError(403, "Invalid or expired link");
  const upload = (await deps.kv.get<UploadRecord>(keys.upload(uploadId))).value;
  const ref = upload?.messageId === undefined ? null : parseMessageId(upload.messageId);
  const message = ref === null
    ? null
    : (await deps.kv.get<StoredMessage>(keys.message(ref.roomId, ref.seq))).value;
  const store = upload === null ? undefined : deps.stores[upload.store];
  if (!upload?.complete || !message || message.deletedAt !== undefined || !store) {
    throw new HttpError(404, "Attachment not found");
  }
  return await store.serve(upload, { range: request.range });
}

/** A new upload id: 128 random bits. */
function newUploadId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "up_" +
    btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
