/**
 * Attachments over HTTP (API.md "Attachments"): the same cases run against the
 * embedded Deno KV store and against S3 (a real `s3rver` on 127.0.0.1).
 */
import assert from "node:assert/strict";
import { expectStatus, setup, type TestContext } from "./helpers.ts";
import { startS3Server } from "./support/s3_server.ts";
import { createUpload, download, pngBytes, putBytes, randomBytes, sendFile } from "./support/uploads.ts";
import { LinkSigner } from "../uploads/signing.ts";
import { ensureSetting } from "../storage/settings.ts";

interface Room {
  t: TestContext;
  roomId: string;
  /** A group alice owns with bob in it. */
  groupId: string;
}

async function room(t: TestContext): Promise<Room> {
  for (const id of ["bob", "carol"]) await t.login(id);
  const first = await expectStatus<{ message: { roomId: string } }>(
    await t.api("alice", "POST", "/api/chat/send", { receiverId: "bob", content: "hi" }),
    200,
  );
  const group = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/groups", { name: "Team", memberIds: ["bob"] }),
    200,
  );
  return { t, roomId: first.message.roomId, groupId: group.roomId };
}

/** Every case, run once per store. */
const CASES: Record<string, (r: Room) => Promise<void>> = {
  "a 5 MiB file makes the round trip byte for byte, and the other member downloads it without a token":
    async (
      { t, roomId },
    ) => {
      const bytes = randomBytes(5 * 1024 * 1024 + 123);
      const message = await sendFile(t, "alice", {
        roomId,
        name: "data.bin",
        contentType: "application/zip",
        bytes,
      });
      assert.equal(message.type, "file");
      assert.equal(message.attachmentName, "data.bin");
      assert.equal(message.attachmentSize, bytes.byteLength);
      assert.equal(message.attachmentType, "application/zip");
      const page = await expectStatus<{ messages: { id: string; attachmentUrl?: string }[] }>(
        await t.api("bob", "GET", `/api/chat/messages?roomId=${roomId}`),
        200,
      );
      const seen = page.messages.find((m) => m.id === message.id)!;
      const res = await download(t, seen.attachmentUrl!);
      assert.equal(res.status, 200);
      const got = new Uint8Array(await res.arrayBuffer());
      assert.equal(got.byteLength, bytes.byteLength);
      assert.ok(got.every((b, i) => b === bytes[i]), "the bytes differ");
      assert.match(res.headers.get("Content-Disposition") ?? "", /^attachment; filename="data.bin"/);
    },

  "a PNG gets its width and height from its bytes and is served inline with nosniff": async (
    { t, roomId },
  ) => {
    const message = await sendFile(t, "alice", {
      roomId,
      name: "cat.png",
      contentType: "image/png",
      bytes: pngBytes(640, 480, 2000),
    });
    assert.equal(message.type, "image");
    assert.equal(message.attachmentWidth, 640);
    assert.equal(message.attachmentHeight, 480);
    const res = await download(t, message.attachmentUrl as string);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("Content-Type"), "image/png");
    assert.match(res.headers.get("Content-Disposition") ?? "", /^inline/);
    assert.equal((await res.arrayBuffer()).byteLength, 2000);
    if (!(message.attachmentUrl as string).startsWith("http")) {
      const direct = await t.request(message.attachmentUrl as string);
      assert.equal(direct.headers.get("X-Content-Type-Options"), "nosniff");
      await direct.body?.cancel();
    }
  },

  "HTML is served as a download, never as a page": async ({ t, roomId }) => {
    const bytes = new TextEncoder().encode("<script>alert(document.cookie)</script>");
    const message = await sendFile(t, "alice", {
      roomId,
      name: "page.html",
      contentType: "text/html",
      bytes,
    });
    const res = await download(t, message.attachmentUrl as string);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("Content-Type") ?? "", /^text\/html/);
    assert.match(res.headers.get("Content-Disposition") ?? "", /^attachment; filename="page.html"/);
    await res.body?.cancel();
  },

  "a bad or expired signature is 403, a deleted message's attachment 404": async ({ t, roomId }) => {
    const message = await sendFile(t, "alice", {
      roomId,
      name: "a.txt",
      contentType: "text/plain",
      bytes: new TextEncoder().encode("hello"),
    });
    const url = message.attachmentUrl as string;
    const local = url.startsWith("/") ? url : new URL(url).pathname + new URL(url).search;
    const tampered = local.replace(
      /signature=./,
      (s) => s.endsWith("A") ? s.slice(0, -1) + "B" : s.slice(0, -1) + "A",
    );
    assert.equal((await expectStatus(await t.request(tampered), 403)).error, "Invalid or expired link");
    const bare = local.split("?")[0]!;
    await expectStatus(await t.request(bare), 403);
    const uploadId = bare.split("/")[4]!;
    const secret = await ensureSetting(t.kv, "upload_link_secret", () => "unused");
    const past = new LinkSigner(secret, { now: () => Date.now() - 3 * 60 * 60_000 }).link("get", uploadId);
    await expectStatus(await t.request(past), 403);
    const ok = await t.request(local);
    assert.ok(ok.status === 200 || ok.status === 302, String(ok.status));
    await ok.body?.cancel();
    await expectStatus(await t.api("alice", "DELETE", `/api/chat/messages/${message.id}`), 200);
    assert.equal((await expectStatus(await t.request(local), 404)).error, "Attachment not found");
  },

  "only active members create uploads; a stranger's room answers like none": async (
    { t, roomId, groupId },
  ) => {
    const body = { roomId, name: "a.txt", contentType: "text/plain", size: 5 };
    assert.equal(
      (await expectStatus(await t.api("carol", "POST", "/api/chat/uploads", body), 404)).error,
      "Room not found",
    );
    const missing = { ...body, roomId: "no-such-room" };
    assert.equal(
      (await expectStatus(await t.api("carol", "POST", "/api/chat/uploads", missing), 404)).error,
      "Room not found",
    );
    await expectStatus(await t.api("bob", "DELETE", `/api/chat/rooms/${groupId}/members/bob`), 200);
    await expectStatus(await t.api("bob", "POST", "/api/chat/uploads", { ...body, roomId: groupId }), 403);
  },

  "another user's upload, another room's upload, an incomplete one and an attached one cannot be sent":
    async (
      { t, roomId, groupId },
    ) => {
      const bytes = new TextEncoder().encode("hello");
      const file = { name: "a.txt", contentType: "text/plain", size: bytes.byteLength };
      const send = (as: string, to: string, uploadId: string) =>
        t.api(as, "POST", "/api/chat/send", { roomId: to, type: "file", uploadId });
      const pending = await createUpload(t, "alice", { roomId, ...file });
      assert.match(
        (await expectStatus(await send("alice", roomId, pending.upload.id), 400)).error as string,
        /not complete/,
      );
      await expectStatus(await putBytes(t, pending.put, bytes), 200);
      assert.match(
        (await expectStatus(await send("bob", roomId, pending.upload.id), 400)).error as string,
        /no such upload/,
      );
      assert.match(
        (await expectStatus(await send("alice", groupId, pending.upload.id), 400)).error as string,
        /another room/,
      );
      const sent = await expectStatus<{ message: { attachmentName: string } }>(
        await send("alice", roomId, pending.upload.id),
        200,
      );
      assert.equal(sent.message.attachmentName, "a.txt");
      assert.match(
        (await expectStatus(await send("alice", roomId, pending.upload.id), 400)).error as string,
        /already/,
      );
    },

  "a retried send with the same clientMessageId returns the message instead of refusing the attached upload":
    async ({ t, roomId }) => {
      const bytes = new TextEncoder().encode("hello");
      const created = await createUpload(t, "alice", {
        roomId,
        name: "a.txt",
        contentType: "text/plain",
        size: 5,
      });
      await expectStatus(await putBytes(t, created.put, bytes), 200);
      const body = { roomId, type: "file", uploadId: created.upload.id, clientMessageId: "retry-1" };
      const first = await expectStatus<{ message: { id: string } }>(
        await t.api("alice", "POST", "/api/chat/send", body),
        200,
      );
      const again = await expectStatus<{ message: { id: string } }>(
        await t.api("alice", "POST", "/api/chat/send", body),
        200,
      );
      assert.equal(again.message.id, first.message.id);
    },

  "sizes and types are checked: 413 over the limit, 400 unknown type, 400 a body of another size": async (
    { t, roomId },
  ) => {
    const base = { roomId, name: "a.bin", contentType: "application/octet-stream" };
    await expectStatus(
      await t.api("alice", "POST", "/api/chat/uploads", { ...base, size: 1024 * 1024 + 1 }),
      413,
    );
    const unknown = { ...base, contentType: "application/x-evil", size: 5 };
    assert.match(
      (await expectStatus(await t.api("alice", "POST", "/api/chat/uploads", unknown), 400)).error as string,
      /contentType/,
    );
    const { contentType: _, ...untyped } = { ...base, size: 5 };
    await expectStatus(await t.api("alice", "POST", "/api/chat/uploads", untyped), 400);
    const created = await createUpload(t, "alice", { ...base, size: 10 });
    const res = await putBytes(t, created.put, new Uint8Array(7));
    await res.body?.cancel();
    // S3 refuses it for its signed Content-Length (s3rver does not check); the send refuses it anyway.
    if (created.put.url.startsWith("/")) assert.equal(res.status, 400);
    const send = await t.api("alice", "POST", "/api/chat/send", {
      roomId,
      type: "file",
      uploadId: created.upload.id,
    });
    await expectStatus(send, 400);
  },

  "an image whose bytes are not of its declared type is refused": async ({ t, roomId }) => {
    const bytes = new TextEncoder().encode("<svg onload=alert(1)>not a png at all</svg>");
    const created = await createUpload(t, "alice", {
      roomId,
      name: "x.png",
      contentType: "image/png",
      size: bytes.byteLength,
    });
    const put = await putBytes(t, created.put, bytes);
    await put.body?.cancel();
    const send = await t.api("alice", "POST", "/api/chat/send", {
      roomId,
      type: "image",
      uploadId: created.upload.id,
    });
    assert.equal(send.status, 400);
    await send.body?.cancel();
    if (created.put.url.startsWith("/")) {
      assert.equal(put.status, 400, "the embedded store refuses it at once");
    }
  },

  "an empty image is refused, an empty file is sent": async ({ t, roomId }) => {
    const image = await createUpload(t, "alice", {
      roomId,
      name: "x.png",
      contentType: "image/png",
      size: 0,
    });
    const put = await putBytes(t, image.put, new Uint8Array());
    await put.body?.cancel();
    const send = await t.api("alice", "POST", "/api/chat/send", {
      roomId,
      type: "image",
      uploadId: image.upload.id,
    });
    await expectStatus(send, 400);
    const message = await sendFile(t, "alice", {
      roomId,
      name: "empty.txt",
      contentType: "text/plain",
      bytes: new Uint8Array(),
    });
    assert.equal(message.attachmentSize, 0);
    const res = await download(t, message.attachmentUrl as string);
    assert.equal(res.status, 200);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  },

  "a file upload cannot be sent as an image": async ({ t, roomId }) => {
    const bytes = new TextEncoder().encode("%PDF-1.4");
    const created = await createUpload(t, "alice", {
      roomId,
      name: "a.pdf",
      contentType: "application/pdf",
      size: 8,
    });
    await expectStatus(await putBytes(t, created.put, bytes), 200);
    const send = await t.api("alice", "POST", "/api/chat/send", {
      roomId,
      type: "image",
      uploadId: created.upload.id,
    });
    await expectStatus(send, 400);
  },
};

const ENV = { UPLOAD_MAX_BYTES: String(1024 * 1024) };

for (const [name, run] of Object.entries(CASES)) {
  const big = name.startsWith("a 5 MiB");
  Deno.test(`uploads (Deno KV): ${name}`, async () => {
    await using t = await setup(big ? {} : ENV);
    await run(await room(t));
  });
  Deno.test({
    name: `uploads (S3): ${name}`,
    // s3rver is a Node server running in this process: its sockets outlive a test by a moment.
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      await using s3 = await startS3Server();
      await using t = await setup({ ...(big ? {} : ENV), ...s3.env });
      await run(await room(t));
    },
  });
}

Deno.test("POST /api/chat/uploads counts against RATE_LIMIT_WRITE_PER_MIN", async () => {
  await using t = await setup({ RATE_LIMIT_WRITE_PER_MIN: "2" });
  const { roomId } = await room(t); // the group creation took one slot
  const body = { roomId, name: "a.txt", contentType: "text/plain", size: 5 };
  await createUpload(t, "alice", body);
  const res = await t.api("alice", "POST", "/api/chat/uploads", body);
  await expectStatus(res, 429);
  assert.ok(Number(res.headers.get("Retry-After")) >= 1);
});
