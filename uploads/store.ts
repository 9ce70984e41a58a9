/**
 * @module What a place that holds upload bytes does: hand out where the client
 * PUTs, confirm what arrived, answer a download, remove the bytes. Implemented
 * by the Deno KV store (`kv_store.ts`) and the S3 store (`s3_store.ts`).
 */
import { HttpError } from "../http_error.ts";
import type { UploadManifest, UploadRecord, UploadStoreKind } from "../storage/records.ts";

/** Where and how the client sends the bytes (API.md step 2). */
export interface PutTarget {
  url: string;
  method: "PUT";
  headers: Record<string, string>;
}

/** One place that holds upload bytes. */
export interface UploadStore {
  readonly kind: UploadStoreKind;
  /** Where the client sends the bytes of a new upload. */
  putTarget(upload: UploadRecord): Promise<PutTarget>;
  /**
   * Checks bytes the client sent straight to the store (size, magic bytes,
   * pixel size) and returns the manifest, or null when they have not all arrived.
   * The KV store completes uploads while it receives them: it returns null.
   *
   * @throws {HttpError} 400 when the stored bytes do not match what was declared.
   */
  inspect(upload: UploadRecord): Promise<UploadManifest | null>;
  /**
   * The answer to a download of a complete upload: the bytes (or the `Range` asked for, 206),
   * or a redirect to them.
   *
   * @throws {HttpError} 416 for a range outside the file.
   */
  serve(upload: UploadRecord, request: { range?: string }): Promise<Response>;
  /** Removes whatever bytes of the upload are stored; nothing stored is fine. */
  remove(uploadId: string): Promise<void>;
}

/** The bytes a `Range` header asks for, inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The one range of a `Range: bytes=…` header within `size` bytes; null for no header (or a
 * form this server answers with the whole file: several ranges, another unit).
 *
 * @throws {HttpError} 416 when the range lies outside the file.
 * @example parseRange("bytes=100-", 1000) // { start: 100, end: 999 }
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return null;
  const [first, last] = [match[1]!, match[2]!];
  const range = first === ""
    ? { start: Math.max(0, size - Number(last)), end: size - 1 } // the last N bytes
    : { start: Number(first), end: last === "" ? size - 1 : Math.min(Number(last), size - 1) };
  if (range.start > range.end || range.start >= size) {
    throw new HttpError(416, "Range not satisfiable", { "Content-Range": `bytes */${size}` });
  }
  return range;
}

/** `Content-Disposition` of a download: inline for media, else a download with the file's name. */
export function contentDisposition(name: string, inline: boolean): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `${inline ? "inline" : "attachment"}; filename="${ascii}"; filename*=UTF-8''${
    encodeURIComponent(name)
  }`;
}
