/**
 * @module Step 2 of an attachment (API.md's three): the bytes PUT to the upload's signed link,
 * without the bearer token (the link is the credential, and it may be an S3 URL). The client's
 * `uploadAttachment()` creates the upload (step 1) and calls this; `send()` with the `uploadId`
 * is step 3.
 */
import type { operations } from "./api_types.ts";
import { ChatClosedError, ChatNetworkError } from "./errors.ts";
import { read } from "./http.ts";

/** `POST /api/chat/uploads`'s answer. */
export type CreatedUpload = operations["createUpload"]["responses"][201]["content"]["application/json"];

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

/** The name and type an upload of `input` declares. */
export function declaredFile(input: UploadInput): { name: string; contentType: string } {
  return {
    name: input.name ?? ((input.file as File).name || "file"),
    contentType: input.contentType ?? (input.file.type || "application/octet-stream"),
  };
}

/** Whether a content type is sent as an `image` message (else a `file`). */
export function messageTypeOf(contentType: string): "image" | "file" {
  return IMAGE_TYPES.has(contentType) ? "image" : "file";
}

/**
 * PUTs the bytes to the created upload's link (relative links are on `baseUrl`).
 *
 * @throws {ChatApiError} for an error status; {ChatNetworkError} without an answer.
 */
export async function putBytes(
  options: { baseUrl: string; fetch?: typeof fetch; signal: AbortSignal },
  put: CreatedUpload["put"],
  file: Blob,
): Promise<void> {
  const url = put.url.startsWith("/") ? `${options.baseUrl.replace(/\/+$/, "")}${put.url}` : put.url;
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(url, {
      method: put.method,
      headers: put.headers,
      body: file,
      signal: options.signal,
    });
  } catch (error) {
    if (options.signal.aborted) throw new ChatClosedError();
    throw new ChatNetworkError(`PUT the upload: ${error instanceof Error ? error.message : error}`, {
      cause: error,
    });
  }
  await read(res); // S3 answers XML: its error text is not JSON, the status is what counts
}
