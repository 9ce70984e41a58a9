import assert from "node:assert/strict";
import { faultyKv, writes } from "../test/support/faulty_kv.ts";
import { keys } from "../storage/keys.ts";
import { retryingCommits } from "../storage/kv.ts";
import { keyBytes, valueBytes } from "../storage/kv_size.ts";
import type { UploadRecord } from "../storage/records.ts";
import { CHUNK_BYTES, chunkStream, KvUploadStore } from "./kv_store.ts";
import { LinkSigner } from "./signing.ts";
import { HttpError } from "../http_error.ts";

const KV_VALUE_LIMIT = 64 * 1024;
const KV_ATOMIC_LIMIT = 800 * 1024;

function record(size: number, contentType = "application/octet-stream"): UploadRecord {
  return {
    id: "up_test",
    roomId: "r",
    ownerId: "alice",
    name: "a.bin",
    contentType,
    size,
    store: "kv",
    createdAt: 0,
    sweepAt: 1,
  };
}

async function stored(kv: Deno.Kv, upload: UploadRecord): Promise<Deno.KvEntry<UploadRecord>> {
  await kv.set(keys.upload(upload.id), upload);
  return (await kv.get<UploadRecord>(keys.upload(upload.id))) as Deno.KvEntry<UploadRecord>;
}

/** A body delivered in uneven pieces, as a network delivers it. */
function body(bytes: Uint8Array, pieces = 7_777, failAt?: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (failAt !== undefined && at >= failAt) return controller.error(new Error("connection reset"));
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, at += pieces));
    },
  });
}

function sample(size: number): Uint8Array<ArrayBuffer> {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + (i >> 9)) & 0xff);
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function whole(bytes: Uint8Array): { start: number; end: number } {
  return { start: 0, end: bytes.byteLength - 1 };
}

async function chunkRows(kv: Deno.Kv, uploadId: string): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix: keys.uploadChunks(uploadId) })) n++;
  return n;
}

Deno.test("KvUploadStore.receive() writes chunks under KV's value limit in commits under its atomic limit", async () => {
  using raw = await Deno.openKv(":memory:");
  const commits: { bytes: number; largestValue: number; keyBytes: number; mutations: number }[] = [];
  const kv = retryingCommits(faultyKv(raw, {
    before(mutations) {
      commits.push({
        bytes: mutations.reduce((n, m) => n + keyBytes(m.key) + ("value" in m ? valueBytes(m.value) : 0), 0),
        largestValue: Math.max(...mutations.map((m) => ("value" in m ? valueBytes(m.value) : 0))),
        keyBytes: mutations.reduce((n, m) => n + keyBytes(m.key), 0),
        mutations: mutations.length,
      });
    },
  }));
  const bytes = sample(5 * 1024 * 1024 + 17);
  const upload = record(bytes.byteLength);
  const store = new KvUploadStore(kv, new LinkSigner("secret"));
  const manifest = await store.receive(await stored(kv, upload), body(bytes));
  assert.equal(manifest.chunks, Math.ceil(bytes.byteLength / CHUNK_BYTES));
  assert.ok(commits.length > 10, `the bytes went in ${commits.length} commits`);
  for (const commit of commits) {
    assert.ok(commit.largestValue < KV_VALUE_LIMIT, `a value of ${commit.largestValue} bytes`);
    assert.ok(commit.bytes < KV_ATOMIC_LIMIT, `a commit of ${commit.bytes} bytes`);
    assert.ok(commit.keyBytes < 80 * 1024 && commit.mutations <= 1000);
  }
  // The manifest is the last commit, and says what the bytes are.
  const done = (await kv.get<UploadRecord>(keys.upload(upload.id))).value!;
  assert.deepEqual(done.complete, manifest);
  const expected = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(manifest.sha256, expected);
  const back = await collect(
    chunkStream(kv, { uploadId: upload.id, putId: manifest.putId!, range: whole(bytes) }),
  );
  assert.deepEqual(back, bytes);
});

Deno.test("KvUploadStore.receive() refuses a body longer or shorter than declared and leaves no chunk", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new KvUploadStore(kv, new LinkSigner("secret"));
  for (const size of [CHUNK_BYTES * 20 - 1, CHUNK_BYTES * 20 + 1]) {
    const upload = record(size);
    await assert.rejects(
      store.receive(await stored(kv, upload), body(sample(CHUNK_BYTES * 20))),
      (err) => err instanceof HttpError && err.status === 400,
    );
    assert.equal(await chunkRows(kv, upload.id), 0);
    assert.equal((await kv.get<UploadRecord>(keys.upload(upload.id))).value?.complete, undefined);
  }
});

Deno.test("KvUploadStore.receive() leaves an interrupted upload incomplete and without chunks", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new KvUploadStore(kv, new LinkSigner("secret"));
  const bytes = sample(2 * 1024 * 1024);
  const upload = record(bytes.byteLength);
  await assert.rejects(
    store.receive(await stored(kv, upload), body(bytes, 50_000, 1024 * 1024)),
    /connection reset/,
  );
  assert.equal(await chunkRows(kv, upload.id), 0);
  assert.equal((await kv.get<UploadRecord>(keys.upload(upload.id))).value?.complete, undefined);
});

Deno.test("KvUploadStore.receive() refuses an image whose first bytes are of another format", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new KvUploadStore(kv, new LinkSigner("secret"));
  const bytes = new TextEncoder().encode("GIF89a but declared as a PNG, padded out");
  const upload = record(bytes.byteLength, "image/png");
  await assert.rejects(store.receive(await stored(kv, upload), body(bytes)), /not a image\/png file/);
});

Deno.test("KvUploadStore.receive() keeps the bytes when the manifest commit happened but its answer was lost", async () => {
  using raw = await Deno.openKv(":memory:");
  // A remote store (KV Connect, Deno Deploy) may lose the answer of a commit that happened.
  const kv = retryingCommits(faultyKv(raw, {
    loseAnswer: (mutations) => writes(mutations, "upload") ? "always" : false,
  }));
  const store = new KvUploadStore(kv, new LinkSigner("secret"));
  const bytes = sample(300_000);
  const upload = record(bytes.byteLength);
  await assert.rejects(store.receive(await stored(raw, upload), body(bytes)), /answer was lost/);
  const done = (await raw.get<UploadRecord>(keys.upload(upload.id))).value!;
  assert.ok(done.complete, "the manifest commit happened");
  const back = await collect(
    chunkStream(raw, { uploadId: upload.id, putId: done.complete.putId!, range: whole(bytes) }),
  );
  assert.deepEqual(back, bytes);
  // The client's retry learns that the upload is complete.
  const again = (await raw.get<UploadRecord>(keys.upload(upload.id))) as Deno.KvEntry<UploadRecord>;
  await assert.rejects(
    store.receive(again, body(bytes)),
    (err) => err instanceof HttpError && err.status === 409,
  );
});

Deno.test("KvUploadStore.serve() answers a Range with 206 and exactly those bytes, across chunk edges", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new KvUploadStore(kv, new LinkSigner("secret"));
  const bytes = sample(CHUNK_BYTES * 3 + 100);
  const upload = record(bytes.byteLength, "video/mp4");
  const manifest = await store.receive(await stored(kv, upload), body(bytes));
  const done = { ...upload, complete: manifest };
  const cases: [string, number, number][] = [
    ["bytes=0-0", 0, 0],
    [`bytes=${CHUNK_BYTES - 10}-${CHUNK_BYTES + 9}`, CHUNK_BYTES - 10, CHUNK_BYTES + 9],
    [`bytes=${CHUNK_BYTES * 2}-`, CHUNK_BYTES * 2, bytes.byteLength - 1],
    ["bytes=-50", bytes.byteLength - 50, bytes.byteLength - 1],
    [`bytes=100-${bytes.byteLength * 2}`, 100, bytes.byteLength - 1],
  ];
  for (const [range, start, end] of cases) {
    const res = await store.serve(done, { range });
    assert.equal(res.status, 206, range);
    assert.equal(res.headers.get("Content-Range"), `bytes ${start}-${end}/${bytes.byteLength}`);
    assert.equal(res.headers.get("Content-Length"), String(end - start + 1));
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes.slice(start, end + 1), range);
  }
  const full = await store.serve(done, {});
  assert.equal(full.status, 200);
  assert.equal(full.headers.get("Accept-Ranges"), "bytes");
  assert.deepEqual(new Uint8Array(await full.arrayBuffer()), bytes);
  await assert.rejects(
    store.serve(done, { range: `bytes=${bytes.byteLength}-` }),
    (err) => err instanceof HttpError && err.status === 416,
  );
});
