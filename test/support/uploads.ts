/** @module Upload steps as a client does them, for the attachment tests, and sample files. */
import { deflateSync } from "node:zlib";
import type { TestContext } from "../helpers.ts";
import { expectStatus } from "../helpers.ts";

/** What `POST /api/chat/uploads` answers. */
export interface Created {
  upload: { id: string; name: string; contentType: string; size: number };
  put: { url: string; method: string; headers: Record<string, string> };
}

/** Step 1: creates an upload as `userId`. */
export async function createUpload(
  t: TestContext,
  userId: string,
  body: { roomId: string; name: string; contentType: string; size: number },
): Promise<Created> {
  return await expectStatus<Created>(await t.api(userId, "POST", "/api/chat/uploads", body), 201);
}

/** Step 2: sends the bytes to `put.url` without a bearer token (this server's path, or S3's URL). */
export async function putBytes(t: TestContext, put: Created["put"], body: BodyInit): Promise<Response> {
  const init = { method: put.method, headers: put.headers, body };
  return put.url.startsWith("/") ? await t.request(put.url, init) : await fetch(put.url, init);
}

/** Downloads an `attachmentUrl` the way an `<img src>` would: no token; S3's redirect followed. */
export async function download(t: TestContext, url: string): Promise<Response> {
  const res = await t.request(url);
  if (res.status !== 302) return res;
  await res.body?.cancel();
  return await fetch(res.headers.get("Location")!);
}

/** Steps 1–3: uploads `bytes` into the room and sends it; returns the message. */
export async function sendFile(
  t: TestContext,
  userId: string,
  file: {
    roomId: string;
    name: string;
    contentType: string;
    bytes: Uint8Array<ArrayBuffer>;
    type?: "image" | "file";
  },
): Promise<Record<string, unknown>> {
  const { roomId, name, contentType, bytes } = file;
  const created = await createUpload(t, userId, { roomId, name, contentType, size: bytes.byteLength });
  await expectStatus(await putBytes(t, created.put, bytes), 200);
  const res = await t.api(userId, "POST", "/api/chat/send", {
    roomId,
    type: file.type ?? (contentType.startsWith("image/") ? "image" : "file"),
    uploadId: created.upload.id,
  });
  return (await expectStatus<{ message: Record<string, unknown> }>(res, 200)).message;
}

/** A PNG header declaring `width` × `height`, padded to `size` bytes (image readers only need the header). */
export function pngBytes(width: number, height: number, size = 64): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(Math.max(size, 33));
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const view = new DataView(bytes.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  bytes.set([8, 6, 0, 0, 0], 24);
  return bytes;
}

/** `size` pseudo-random bytes (the same for the same seed). */
export function randomBytes(size: number, seed = 1): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** A real, decodable PNG of `width` × `height` in one colour (browsers render it). */
export function solidPng(
  width: number,
  height: number,
  rgb: [number, number, number],
): Uint8Array<ArrayBuffer> {
  const row = new Uint8Array(1 + width * 3);
  for (let x = 0; x < width; x++) row.set(rgb, 1 + x * 3);
  const raw = new Uint8Array(row.length * height);
  for (let y = 0; y < height; y++) raw.set(row, y * row.length);
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", new Uint8Array(deflateSync(raw))),
    pngChunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) out.set(part, (at += part.length) - part.length);
  return out;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  chunk.set(new TextEncoder().encode(type), 4);
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  return chunk;
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}
