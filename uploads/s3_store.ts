/**
 * @module Upload bytes in an S3-compatible bucket (AWS S3, Cloudflare R2,
 * MinIO, …) through npm:aws4fetch: the client PUTs to a presigned URL whose
 * signature covers the content type and length; the first send that attaches
 * the upload checks the object (size, magic bytes, pixel size); downloads are
 * redirected to a short-lived presigned GET.
 */
import { AwsClient } from "aws4fetch";
import type { S3Config } from "../config.ts";
import { HttpError } from "../http_error.ts";
import type { UploadManifest, UploadRecord } from "../storage/records.ts";
import { isCheckedImage, isInline, matchesSignature } from "./content_types.ts";
import { DIMENSION_HEAD_BYTES, imageDimensions } from "./image_dimensions.ts";
import { contentDisposition, type PutTarget, type UploadStore } from "./store.ts";

/** How long a presigned PUT stays valid, in seconds. */
const PUT_TTL_SECONDS = 15 * 60;
/** How long the presigned GET a download is redirected to stays valid, in seconds. */
const GET_TTL_SECONDS = 5 * 60;

/** The S3 store. */
export class S3UploadStore implements UploadStore {
  readonly kind = "s3" as const;
  readonly #config: S3Config;
  readonly #client: AwsClient;

  constructor(config: S3Config) {
    this.#config = config;
    this.#client = new AwsClient({
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      region: config.region,
      service: "s3",
    });
  }

  /** The object's URL: path style (`endpoint/bucket/key`) or virtual-hosted (`bucket.endpoint/key`). */
  objectUrl(uploadId: string): URL {
    const endpoint = new URL(this.#config.endpoint);
    const key = `uploads/${encodeURIComponent(uploadId)}`;
    if (this.#config.forcePathStyle) {
      return new URL(`${endpoint.pathname.replace(/\/$/, "")}/${this.#config.bucket}/${key}`, endpoint);
    }
    return new URL(`${endpoint.protocol}//${this.#config.bucket}.${endpoint.host}/${key}`);
  }

  async putTarget(upload: UploadRecord): Promise<PutTarget> {
    const url = this.objectUrl(upload.id);
    url.searchParams.set("X-Amz-Expires", String(PUT_TTL_SECONDS));
    const headers = { "Content-Type": upload.contentType, "Content-Length": String(upload.size) };
    // Content type and length are signed: S3 refuses a body of another size or type.
    const signed = await this.#client.sign(url.href, {
      method: "PUT",
      headers,
      aws: { signQuery: true, allHeaders: true },
    });
    return { url: signed.url, method: "PUT", headers: { "Content-Type": upload.contentType } };
  }

  async inspect(upload: UploadRecord): Promise<UploadManifest | null> {
    const url = this.objectUrl(upload.id).href;
    const head = await this.#client.fetch(url, { method: "HEAD" });
    await head.body?.cancel();
    if (head.status === 404) return null;
    if (!head.ok) throw new Error(`S3 HEAD ${upload.id}: ${head.status}`);
    const size = Number(head.headers.get("Content-Length"));
    if (size !== upload.size) {
      await this.remove(upload.id);
      throw new HttpError(
        400,
        `uploadId: the stored file is ${size} bytes, the upload declared ${upload.size}`,
      );
    }
    const manifest: UploadManifest = { completedAt: Date.now() };
    if (!isCheckedImage(upload.contentType)) return manifest;
    const bytes = upload.size === 0 ? new Uint8Array() : await this.#head(url, upload);
    if (!matchesSignature(upload.contentType, bytes)) {
      await this.remove(upload.id);
      throw new HttpError(400, `uploadId: the stored file is not a ${upload.contentType} file`);
    }
    return { ...manifest, ...imageDimensions(bytes) };
  }

  /** The object's first bytes, as many as the pixel size may need. */
  async #head(url: string, upload: UploadRecord): Promise<Uint8Array> {
    const range = `bytes=0-${Math.min(upload.size, DIMENSION_HEAD_BYTES) - 1}`;
    const res = await this.#client.fetch(url, { headers: { Range: range } });
    if (!res.ok) throw new Error(`S3 GET ${upload.id}: ${res.status}`);
    return new Uint8Array(await res.arrayBuffer()).subarray(0, DIMENSION_HEAD_BYTES);
  }

  /** A redirect to a presigned GET; S3 answers a `Range` the browser sends there itself. */
  async serve(upload: UploadRecord): Promise<Response> {
    const url = this.objectUrl(upload.id);
    url.searchParams.set("X-Amz-Expires", String(GET_TTL_SECONDS));
    url.searchParams.set("response-content-type", upload.contentType);
    url.searchParams.set(
      "response-content-disposition",
      contentDisposition(upload.name, isInline(upload.contentType)),
    );
    const signed = await this.#client.sign(url.href, { method: "GET", aws: { signQuery: true } });
    return new Response(null, {
      status: 302,
      headers: { Location: signed.url, "Cache-Control": "private, max-age=60" },
    });
  }

  async remove(uploadId: string): Promise<void> {
    const res = await this.#client.fetch(this.objectUrl(uploadId).href, { method: "DELETE" });
    await res.body?.cancel();
    if (!res.ok && res.status !== 404) throw new Error(`S3 DELETE ${uploadId}: ${res.status}`);
  }
}
