/**
 * Attachments across processes sharing one KV file (how Deno Deploy's isolates run): an upload
 * created on one, its bytes PUT to another, sent from a third; the link any of them signs opens
 * on every other, and the same upload sent from two at once is attached exactly once.
 */
import assert from "node:assert/strict";
import { expectStatus } from "./helpers.ts";
import { startRuntimes } from "./support/two_runtimes.ts";
import { randomBytes } from "./support/uploads.ts";
import { faultyKv, writes } from "./support/faulty_kv.ts";
import { KvUploadStore } from "../uploads/kv_store.ts";
import { LinkSigner } from "../uploads/signing.ts";
import { sweepUploads, UPLOAD_TTL_MS } from "../uploads/sweep.ts";

Deno.test("an upload created, stored and sent through different processes opens on all of them", async () => {
  await using group = await startRuntimes(3);
  const [a, b, c] = group.runtimes as [
    typeof group.runtimes[0],
    typeof group.runtimes[0],
    typeof group.runtimes[0],
  ];
  await b.api("bob", "GET", "/api/me");
  const { roomId } = await expectStatus<{ roomId: string }>(
    await a.api("alice", "POST", "/api/chat/start", { receiverId: "bob" }),
    200,
  );
  const bytes = randomBytes(300_000);
  const created = await expectStatus<
    { upload: { id: string }; put: { url: string; headers: Record<string, string> } }
  >(
    await a.api("alice", "POST", "/api/chat/uploads", {
      roomId,
      name: "a.bin",
      contentType: "application/zip",
      size: bytes.byteLength,
    }),
    201,
  );
  const put = await b.runtime.app.request(`http://localhost${created.put.url}`, {
    method: "PUT",
    headers: created.put.headers,
    body: bytes,
  });
  await expectStatus(put, 200);
  const sent = await expectStatus<{ message: { attachmentUrl: string } }>(
    await c.api("alice", "POST", "/api/chat/send", { roomId, type: "file", uploadId: created.upload.id }),
    200,
  );
  for (const runtime of group.runtimes) {
    const res = await runtime.runtime.app.request(`http://localhost${sent.message.attachmentUrl}`);
    assert.equal(res.status, 200);
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
  }
});

Deno.test("the same upload sent from two processes at once is attached to exactly one message", async () => {
  await using group = await startRuntimes(2);
  const [a, b] = group.runtimes as [typeof group.runtimes[0], typeof group.runtimes[0]];
  await b.api("bob", "GET", "/api/me");
  const { roomId } = await expectStatus<{ roomId: string }>(
    await a.api("alice", "POST", "/api/chat/start", { receiverId: "bob" }),
    200,
  );
  for (let round = 0; round < 5; round++) {
    const created = await expectStatus<
      { upload: { id: string }; put: { url: string; headers: Record<string, string> } }
    >(
      await a.api("alice", "POST", "/api/chat/uploads", {
        roomId,
        name: "a.txt",
        contentType: "text/plain",
        size: 5,
      }),
      201,
    );
    await expectStatus(
      await a.runtime.app.request(`http://localhost${created.put.url}`, {
        method: "PUT",
        headers: created.put.headers,
        body: "hello",
      }),
      200,
    );
    const body = { roomId, type: "file", uploadId: created.upload.id };
    const answers = await Promise.all([a, b].map((r) => r.api("alice", "POST", "/api/chat/send", body)));
    const statuses = answers.map((res) => res.status).sort();
    await Promise.all(answers.map((res) => res.body?.cancel()));
    assert.deepEqual(statuses, [200, 400], `round ${round}`);
  }
  const page = await expectStatus<{ messages: { attachmentName?: string }[] }>(
    await b.api("bob", "GET", `/api/chat/messages?roomId=${roomId}`),
    200,
  );
  assert.equal(page.messages.filter((m) => m.attachmentName === "a.txt").length, 5);
});

Deno.test("a send and the sweep of the same upload in two processes: the send never holds a swept upload", async () => {
  let sweepNow: (() => Promise<void>) | undefined;
  await using group = await startRuntimes(2, {}, {
    wrapKv: (kv) =>
      faultyKv(kv, {
        // Right before the send's commit, another process sweeps the upload away.
        async before(mutations) {
          if (sweepNow && writes(mutations, "upload")) {
            const sweep = sweepNow;
            sweepNow = undefined;
            await sweep();
          }
        },
      }),
  });
  const [a, b] = group.runtimes as [typeof group.runtimes[0], typeof group.runtimes[0]];
  await b.api("bob", "GET", "/api/me");
  const { roomId } = await expectStatus<{ roomId: string }>(
    await a.api("alice", "POST", "/api/chat/start", { receiverId: "bob" }),
    200,
  );
  const created = await expectStatus<
    { upload: { id: string }; put: { url: string; headers: Record<string, string> } }
  >(
    await a.api("alice", "POST", "/api/chat/uploads", {
      roomId,
      name: "a.txt",
      contentType: "text/plain",
      size: 5,
    }),
    201,
  );
  await expectStatus(
    await a.runtime.app.request(`http://localhost${created.put.url}`, {
      method: "PUT",
      headers: created.put.headers,
      body: "hello",
    }),
    200,
  );
  const store = new KvUploadStore(b.kv, new LinkSigner("unused"));
  sweepNow = async () => {
    const { removed } = await sweepUploads(b.kv, [store], { now: Date.now() + UPLOAD_TTL_MS + 60_000 });
    assert.equal(removed, 1);
  };
  const res = await a.api("alice", "POST", "/api/chat/send", {
    roomId,
    type: "file",
    uploadId: created.upload.id,
  });
  assert.equal(sweepNow, undefined, "the sweep ran");
  assert.match((await expectStatus(res, 400)).error as string, /no such upload/);
  const page = await expectStatus<{ messages: { attachmentName?: string }[] }>(
    await b.api("bob", "GET", `/api/chat/messages?roomId=${roomId}`),
    200,
  );
  assert.equal(page.messages.length, 0);
});
