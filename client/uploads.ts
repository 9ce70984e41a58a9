/**
 * @module Attachments from the SDK: `uploadAttachment()` runs steps 1 and 2 of API.md's three
 * (create the upload, PUT the bytes to its signed link without the token) and returns what
 * `send()` takes for step 3.
 *
 * @example
 * ```ts
 * const { uploadId, type } = await uploadAttachment(
 *   { baseUrl: "http://localhost:8000", token: await getToken() },
 *   { roomId, file }, // a Blob or File; `name` and `contentType` default to the file's
 * );
 * await chat.send({ roomId, type, uploadId, content: "" });
 * ```
 */
import type { operations } from "./api_types.ts";
import { ChatApiError, ChatNetworkError } from "./errors.ts";

type Created = operations["createUpload"]["responses"][201]["content"]["application/json"];

/** Where the server is and who calls it. */
export interface UploadTarget {
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
}

/** What to upload into which room. */
export interface UploadInput {
  roomId: string;
  file: Blob;
  /** The file's name; a `File`'s own name by default. */
  name?: string;
  /** The file's type; the Blob's `type` by default. */
  contentType?: string;
}

/** PNG, JPEG, GIF and WebP go as images (the server reads their pixel size). */
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

/**
 * Uploads a file and resolves once every byte is stored, with the `uploadId` and `type` to send.
 *
 * @throws {ChatApiError} for an error status (413 over `UPLOAD_MAX_BYTES`, 400 a refused type or
 *   bytes that do not match it, 404/403 the room); {ChatNetworkError} without an answer.
 */
export async function uploadAttachment(
  target: UploadTarget,
  input: UploadInput,
): Promise<{ uploadId: string; type: "image" | "file"; upload: Created["upload"] }> {
  const doFetch = target.fetch ?? fetch;
  const base = target.baseUrl.replace(/\/+$/, "");
  const contentType = input.contentType ?? (input.file.type || "application/octet-stream");
  const name = input.name ?? ((input.file as File).name || "file");
  const created = await answer<Created>(
    doFetch(`${base}/api/chat/uploads`, {
      method: "POST",
      headers: { Authorization: `Bearer ${target.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ roomId: input.roomId, name, contentType, size: input.file.size }),
    }),
  );
  const { put } = created;
  // The link is the credential: the bearer token never goes to it (it may be an S3 URL).
  const url = put.url.startsWith("/") ? `${base}${put.url}` : put.url;
  await answer(doFetch(url, { method: put.method, headers: put.headers, body: input.file }));
  const type = IMAGE_TYPES.has(created.upload.contentType) ? "image" : "file";
  return { uploadId: created.upload.id, type, upload: created.upload };
}

async function answer<T>(pending: Promise<Response>): Promise<T> {
  let res: Response;
  try {
    res = await pending;
  } catch (err) {
    throw new ChatNetworkError("Cannot reach the server", { cause: err });
  }
  const text = await res.text();
  if (res.ok) return (text && res.headers.get("Content-Type")?.includes("json") ? JSON.parse(text) : {}) as T;
  let message = `${res.status} ${res.statusText}`;
  try {
    message = JSON.parse(text).error ?? message;
  } catch { /* S3 answers XML */ }
  const retryAfter = Number(res.headers.get("Retry-After"));
  throw new ChatApiError(res.status, message, retryAfter > 0 ? retryAfter * 1000 : undefined);
}
