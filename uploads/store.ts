/**
 * @module What a place that holds upload bytes does: hand out where the client
 * PUTs, confirm what arrived, answer a download, remove the bytes. Implemented
 * by the Deno KV store (`kv_store.ts`) and the S3 store (`s3_store.ts`).
 */
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
  /** The answer to a download of a complete upload: the bytes, or a redirect to them. */
  serve(upload: UploadRecord): Promise<Response>;
  /** Removes whatever bytes of the upload are stored; nothing stored is fine. */
  remove(uploadId: string): Promise<void>;
}

/** `Content-Disposition` of a download: inline for media, else a download with the file's name. */
export function contentDisposition(name: string, inline: boolean): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `${inline ? "inline" : "attachment"}; filename="${ascii}"; filename*=UTF-8''${
    encodeURIComponent(name)
  }`;
}
