/**
 * @module Upload bytes in Deno KV: a PUT streams into chunk rows under KV's
 * 64 KiB value limit, several chunks per commit, then one manifest commit
 * marks the upload complete once the size and SHA-256 are known to match.
 * Downloads stream the chunks back. Never the whole file in memory.
 */
import { createHash } from "node:crypto";
import { HttpError } from "../http_error.ts";
import { keys } from "../storage/keys.ts";
import type { UploadManifest, UploadRecord } from "../storage/records.ts";
import { isCheckedImage, isInline, matchesSignature, SIGNATURE_BYTES } from "./content_types.ts";
import { DIMENSION_HEAD_BYTES, imageDimensions } from "./image_dimensions.ts";
import type { LinkSigner } from "./signing.ts";
import { type ByteRange, contentDisposition, parseRange, type PutTarget, type UploadStore } from "./store.ts";

/** Bytes per chunk row: KV values are at most 64 KiB. */
export const CHUNK_BYTES = 60 * 1024;
/** Chunk rows per commit: 8 × 60 KiB stays well inside KV's 800 KiB per atomic. */
export const CHUNKS_PER_COMMIT = 8;
/** Chunk rows read ahead while streaming a download. */
const READ_AHEAD = 4;
/** Keys deleted per commit when bytes are removed. */
const DELETES_PER_COMMIT = 200;

/** The embedded store: bytes in the app's own KV. */
export class KvUploadStore implements UploadStore {
  readonly kind = "kv" as const;
  readonly #kv: Deno.Kv;
  readonly #signer: LinkSigner;

  constructor(kv: Deno.Kv, signer: LinkSigner) {
    this.#kv = kv;
    this.#signer = signer;
  }

  putTarget(upload: UploadRecord): Promise<PutTarget> {
    return Promise.resolve({
      url: this.#signer.link("put", upload.id),
      method: "PUT",
      headers: { "Content-Type": upload.contentType },
    });
  }

  /** The PUT completed the upload already; nothing else can. */
  inspect(): Promise<UploadManifest | null> {
    return Promise.resolve(null);
  }

  /**
   * Stores a PUT body: chunk commits, then the manifest commit under a check
   * that the upload is still as it was read (not completed by another PUT).
   * A failed PUT removes its chunks; the sweep removes those of a crashed one.
   *
   * @throws {HttpError} 400 for a body of another size or not of the declared image type,
   *   409 when the upload is already complete.
   */
  async receive(
    entry: Deno.KvEntry<UploadRecord>,
    body: ReadableStream<Uint8Array>,
  ): Promise<UploadManifest> {
    const upload = entry.value;
    if (upload.complete) throw new HttpError(409, "Upload is already complete");
    const putId = crypto.randomUUID();
    try {
      const manifest = await this.#writeChunks(upload, putId, body);
      const done: UploadRecord = { ...upload, complete: manifest };
      const result = await this.#kv.atomic().check(entry)
        .mutate({ type: "set", key: keys.upload(upload.id), value: done }).commit();
      if (!result.ok) throw new HttpError(409, "Upload changed while it was being stored; create a new one");
      return manifest;
    } catch (err) {
      // A manifest commit whose answer was lost (remote KV) may have happened: then the chunks stay.
      const now = (await this.#kv.get<UploadRecord>(keys.upload(upload.id))).value;
      if (now?.complete?.putId !== putId) await this.#removeChunks(keys.uploadChunks(upload.id, putId));
      throw err;
    }
  }

  async #writeChunks(upload: UploadRecord, putId: string, body: ReadableStream<Uint8Array>) {
    const hash = createHash("sha256");
    const image = isCheckedImage(upload.contentType);
    const head = new HeadBuffer(image ? DIMENSION_HEAD_BYTES : SIGNATURE_BYTES);
    const chunker = new Chunker(CHUNK_BYTES);
    let pending: Uint8Array[] = [];
    let index = 0;
    let total = 0;
    const flush = async () => {
      if (pending.length === 0) return;
      const op = this.#kv.atomic();
      op.mutate(
        ...pending.map((value) => ({
          type: "set" as const,
          key: keys.uploadChunk(upload.id, putId, index++),
          value,
        })),
      );
      pending = [];
      await op.commit();
    };
    for await (const part of body) {
      total += part.byteLength;
      if (total > upload.size) {
        throw new HttpError(400, `Body is larger than the declared size (${upload.size})`);
      }
      hash.update(part);
      head.add(part);
      if (head.length >= SIGNATURE_BYTES) checkSignature(upload, head.bytes());
      for (const chunk of chunker.add(part)) {
        pending.push(chunk);
        if (pending.length >= CHUNKS_PER_COMMIT) await flush();
      }
    }
    if (total !== upload.size) {
      throw new HttpError(400, `Body is ${total} bytes, the upload declared ${upload.size}`);
    }
    checkSignature(upload, head.bytes());
    const last = chunker.rest();
    if (last) pending.push(last);
    await flush();
    const dimensions = image ? imageDimensions(head.bytes()) : undefined;
    return { sha256: hash.digest("hex"), putId, chunks: index, ...dimensions, completedAt: Date.now() };
  }

  // async so that a bad Range (416) rejects the promise instead of throwing.
  // deno-lint-ignore require-await
  async serve(upload: UploadRecord, request: { range?: string }): Promise<Response> {
    const manifest = upload.complete!;
    const range = parseRange(request.range, upload.size);
    const bytes = range ?? { start: 0, end: upload.size - 1 };
    const body = upload.size === 0
      ? null
      : chunkStream(this.#kv, { uploadId: upload.id, putId: manifest.putId!, range: bytes });
    const headers: Record<string, string> = {
      "Content-Type": upload.contentType,
      "Content-Length": String(bytes.end - bytes.start + 1),
      "Content-Disposition": contentDisposition(upload.name, isInline(upload.contentType)),
      "Cache-Control": "private, max-age=3600",
      "Accept-Ranges": "bytes",
      "ETag": `"${manifest.sha256}"`,
    };
    if (upload.size === 0) headers["Content-Length"] = "0";
    if (range) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${upload.size}`;
    return new Response(body, { status: range ? 206 : 200, headers });
  }

  async remove(uploadId: string): Promise<void> {
    await this.#removeChunks(keys.uploadChunks(uploadId));
  }

  async #removeChunks(prefix: readonly string[]): Promise<void> {
    for (;;) {
      const batch: Deno.KvKey[] = [];
      for await (const row of this.#kv.list({ prefix }, { limit: DELETES_PER_COMMIT, batchSize: 20 })) {
        batch.push(row.key);
      }
      if (batch.length === 0) return;
      const op = this.#kv.atomic();
      for (const key of batch) op.delete(key);
      await op.commit();
    }
  }
}

/**
 * The bytes `range` (inclusive) of one PUT's chunks, in order, read a few rows ahead as the reader pulls.
 *
 * @throws {Error} through the stream when a chunk is missing (the manifest promised it).
 */
export function chunkStream(
  kv: Deno.Kv,
  source: { uploadId: string; putId: string; range: ByteRange },
): ReadableStream<Uint8Array> {
  const { uploadId, putId, range } = source;
  let next = Math.floor(range.start / CHUNK_BYTES);
  const last = Math.floor(range.end / CHUNK_BYTES);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (next > last) return controller.close();
      const indexes = Array.from({ length: Math.min(READ_AHEAD, last - next + 1) }, (_, i) => next + i);
      const rows = await kv.getMany<Uint8Array[]>(indexes.map((i) => keys.uploadChunk(uploadId, putId, i)));
      rows.forEach((row, i) => {
        if (row.value === null) throw new Error(`Upload ${uploadId}: chunk ${indexes[i]} is missing`);
        const offset = indexes[i]! * CHUNK_BYTES;
        const from = Math.max(0, range.start - offset);
        const to = Math.min(row.value.byteLength, range.end - offset + 1);
        controller.enqueue(
          from === 0 && to === row.value.byteLength ? row.value : row.value.subarray(from, to),
        );
      });
      next += indexes.length;
    },
  }, { highWaterMark: 0 });
}

/**
 * Refuses bytes that do not start as the declared image type does.
 *
 * @throws {HttpError} 400.
 */
function checkSignature(upload: UploadRecord, head: Uint8Array): void {
  if (!matchesSignature(upload.contentType, head)) {
    throw new HttpError(400, `Body is not a ${upload.contentType} file`);
  }
}

/** Cuts a byte stream into pieces of exactly `size` bytes (the last one shorter). */
export class Chunker {
  readonly #size: number;
  #buffer: Uint8Array;
  #filled = 0;

  constructor(size: number) {
    this.#size = size;
    this.#buffer = new Uint8Array(size);
  }

  /** Adds bytes; returns the pieces that are now full. */
  add(part: Uint8Array): Uint8Array[] {
    const full: Uint8Array[] = [];
    let at = 0;
    while (at < part.byteLength) {
      const take = Math.min(this.#size - this.#filled, part.byteLength - at);
      this.#buffer.set(part.subarray(at, at + take), this.#filled);
      this.#filled += take;
      at += take;
      if (this.#filled === this.#size) {
        full.push(this.#buffer);
        this.#buffer = new Uint8Array(this.#size);
        this.#filled = 0;
      }
    }
    return full;
  }

  /** What is left over (shorter than `size`), or null. */
  rest(): Uint8Array | null {
    return this.#filled === 0 ? null : this.#buffer.slice(0, this.#filled);
  }
}

/** Keeps the first `max` bytes of a stream. */
export class HeadBuffer {
  readonly #bytes: Uint8Array;
  length = 0;

  constructor(max: number) {
    this.#bytes = new Uint8Array(max);
  }

  add(part: Uint8Array): void {
    const take = Math.min(this.#bytes.length - this.length, part.byteLength);
    this.#bytes.set(part.subarray(0, take), this.length);
    this.length += take;
  }

  bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.length);
  }
}
