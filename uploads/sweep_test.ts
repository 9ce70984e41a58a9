import assert from "node:assert/strict";
import { expectStatus, setup, type TestContext } from "../test/helpers.ts";
import { startS3Server } from "../test/support/s3_server.ts";
import { createUpload, download, putBytes, randomBytes, sendFile } from "../test/support/uploads.ts";
import { loadConfig } from "../config.ts";
import { keys } from "../storage/keys.ts";
import type { UploadRecord } from "../storage/records.ts";
import { KvUploadStore } from "./kv_store.ts";
import { S3UploadStore } from "./s3_store.ts";
import { LinkSigner } from "./signing.ts";
import { sweepUploads, UPLOAD_TTL_MS } from "./sweep.ts";

const HOUR = 60 * 60_000;

async function directRoom(t: TestContext): Promise<string> {
  await t.login("bob");
  const res = await t.api("alice", "POST", "/api/chat/start", { receiverId: "bob" });
  return (await expectStatus<{ roomId: string }>(res, 200)).roomId;
}

async function count(kv: Deno.Kv, prefix: Deno.KvKey): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix })) n++;
  return n;
}

Deno.test("sweepUploads() removes interrupted and never-attached uploads after 24 hours, never attached ones", async () => {
  await using t = await setup();
  const roomId = await directRoom(t);
  const store = new KvUploadStore(t.kv, new LinkSigner("unused"));
  const attached = await sendFile(t, "alice", {
    roomId,
    name: "kept.bin",
    contentType: "application/zip",
    bytes: randomBytes(200_000),
  });

  // The connection drops half-way through the PUT.
  const bytes = randomBytes(400_000);
  const interrupted = await createUpload(t, "alice", {
    roomId,
    name: "cut.bin",
    contentType: "application/zip",
    size: bytes.byteLength,
  });
  let sent = 0;
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= 200_000) return controller.error(new Error("connection reset"));
      controller.enqueue(bytes.slice(sent, sent += 50_000));
    },
  });
  const res = await putBytes(t, interrupted.put, failing);
  assert.notEqual(res.status, 200);
  await res.body?.cancel();
  const send = await t.api("alice", "POST", "/api/chat/send", {
    roomId,
    type: "file",
    uploadId: interrupted.upload.id,
  });
  assert.match((await expectStatus(send, 400)).error as string, /not complete/);
  // A process that died mid-PUT leaves chunk rows behind.
  await t.kv.set(keys.uploadChunk(interrupted.upload.id, "crashed-put", 0), new Uint8Array(1000));

  const unsent = await createUpload(t, "alice", {
    roomId,
    name: "never.txt",
    contentType: "text/plain",
    size: 5,
  });
  await expectStatus(await putBytes(t, unsent.put, "hello"), 200);

  assert.deepEqual(await sweepUploads(t.kv, [store], { now: Date.now() + HOUR }), { seen: 0, removed: 0 });
  const later = Date.now() + UPLOAD_TTL_MS + HOUR;
  assert.deepEqual(await sweepUploads(t.kv, [store], { now: later }), { seen: 3, removed: 2 });

  for (const id of [interrupted.upload.id, unsent.upload.id]) {
    assert.equal((await t.kv.get(keys.upload(id))).value, null, id);
    assert.equal(await count(t.kv, keys.uploadChunks(id)), 0, id);
  }
  assert.equal(await count(t.kv, keys.uploadSweeps()), 0);
  const kept = await download(t, attached.attachmentUrl as string);
  assert.equal(kept.status, 200);
  assert.equal((await kept.arrayBuffer()).byteLength, 200_000);
  const late = await t.api("alice", "POST", "/api/chat/send", {
    roomId,
    type: "file",
    uploadId: unsent.upload.id,
  });
  await expectStatus(late, 400);
});

Deno.test("sweepUploads() leaves an upload that a send attached while the sweep looked at it", async () => {
  await using t = await setup();
  const roomId = await directRoom(t);
  const created = await createUpload(t, "alice", {
    roomId,
    name: "a.txt",
    contentType: "text/plain",
    size: 5,
  });
  await expectStatus(await putBytes(t, created.put, "hello"), 200);
  const store = new KvUploadStore(t.kv, new LinkSigner("unused"));
  // The send commits between the sweep's read of the record and its delete: the delete's check fails.
  const racing = {
    kind: "kv" as const,
    putTarget: store.putTarget.bind(store),
    inspect: store.inspect.bind(store),
    serve: store.serve.bind(store),
    remove: (id: string) => store.remove(id),
  };
  const kv = new Proxy(t.kv, {
    get(target, name) {
      if (name === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = async () => {
            const send = await t.api("alice", "POST", "/api/chat/send", {
              roomId,
              type: "file",
              uploadId: created.upload.id,
            });
            assert.equal(send.status, 200);
            return await commit();
          };
          return op;
        };
      }
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const result = await sweepUploads(kv, [racing], { now: Date.now() + UPLOAD_TTL_MS + HOUR });
  assert.equal(result.removed, 0);
  const upload = (await t.kv.get<UploadRecord>(keys.upload(created.upload.id))).value!;
  assert.ok(upload.messageId, "the upload belongs to the message");
  assert.equal((await sweepUploads(t.kv, [store], { now: Date.now() + UPLOAD_TTL_MS + HOUR })).removed, 0);
  assert.ok((await t.kv.get(keys.upload(created.upload.id))).value);
});

Deno.test({
  name: "sweepUploads() deletes the S3 object of an upload never attached",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using s3 = await startS3Server();
    await using t = await setup(s3.env);
    const roomId = await directRoom(t);
    const created = await createUpload(t, "alice", {
      roomId,
      name: "a.txt",
      contentType: "text/plain",
      size: 5,
    });
    await expectStatus(await putBytes(t, created.put, "hello"), 200);
    assert.equal((await s3.objectKeys()).length, 1);
    const store = new S3UploadStore(loadConfig(s3.env).s3!);
    const result = await sweepUploads(t.kv, [store], { now: Date.now() + UPLOAD_TTL_MS + HOUR });
    assert.equal(result.removed, 1);
    assert.deepEqual(await s3.objectKeys(), []);
  },
});

Deno.test("sweepUploads() removes the bytes of a deleted message's attachment", async () => {
  await using t = await setup();
  const roomId = await directRoom(t);
  const store = new KvUploadStore(t.kv, new LinkSigner("unused"));
  const message = await sendFile(t, "alice", {
    roomId,
    name: "gone.bin",
    contentType: "application/zip",
    bytes: randomBytes(150_000),
  });
  const kept = await sendFile(t, "alice", {
    roomId,
    name: "kept.txt",
    contentType: "text/plain",
    bytes: randomBytes(10),
  });
  const uploadId = String(message.attachmentUrl).split("/")[4]!;
  assert.equal((await sweepUploads(t.kv, [store], { now: Date.now() })).removed, 0, "nothing is due yet");
  await expectStatus(await t.api("alice", "DELETE", `/api/chat/messages/${message.id}`), 200);
  assert.deepEqual(await sweepUploads(t.kv, [store], { now: Date.now() }), { seen: 1, removed: 1 });
  assert.equal((await t.kv.get(keys.upload(uploadId))).value, null);
  assert.equal(await count(t.kv, keys.uploadChunks(uploadId)), 0);
  assert.equal((await download(t, kept.attachmentUrl as string)).status, 200);
});
