/** The SDK's `uploadAttachment()` against the server (in process), then `send` with its `uploadId`. */
import assert from "node:assert/strict";
import { ChatApiError, uploadAttachment } from "../client/mod.ts";
import { expectStatus, setup } from "./helpers.ts";
import { download, pngBytes } from "./support/uploads.ts";

Deno.test("uploadAttachment() stores a file for send() to attach, and rejects a refused one with ChatApiError", async () => {
  await using t = await setup({ UPLOAD_MAX_BYTES: "4096" });
  const token = await t.login("alice");
  await t.login("bob");
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("alice", "POST", "/api/chat/start", { receiverId: "bob" }),
    200,
  );
  const target = {
    baseUrl: "http://localhost",
    token,
    fetch: (url: string | URL | Request, init?: RequestInit) =>
      t.request(new URL(String(url)).pathname + new URL(String(url)).search, init),
  } as const;
  const file = new File([pngBytes(32, 16, 300)], "dot.png", { type: "image/png" });
  const { uploadId, type } = await uploadAttachment(target, { roomId, file });
  assert.equal(type, "image");
  const sent = await expectStatus<{ message: { attachmentUrl: string; attachmentWidth: number } }>(
    await t.api("alice", "POST", "/api/chat/send", { roomId, type, uploadId }),
    200,
  );
  assert.equal(sent.message.attachmentWidth, 32);
  assert.equal((await download(t, sent.message.attachmentUrl)).status, 200);
  const big = new Blob([new Uint8Array(5000)], { type: "application/zip" });
  await assert.rejects(
    uploadAttachment(target, { roomId, file: big, name: "big.zip" }),
    (err) => err instanceof ChatApiError && err.status === 413,
  );
});
