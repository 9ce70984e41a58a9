/**
 * An uploaded attachment's message as it leaves through the outbox: the push says "📷 Photo" or
 * "📎 name", the room list shows the same preview, and the realtime `new-message` carries a signed
 * `attachmentUrl` (with the image's size) that downloads without a token.
 */
import assert from "node:assert/strict";
import { startRecorder } from "./support/onesignal_recorder.ts";
import { FAST_RETRY, pusherAt, startOutboxServer } from "./support/outbox_harness.ts";
import { pngBytes } from "./support/uploads.ts";

Deno.test("an upload's message is pushed as 📷 Photo / 📎 name and reaches realtime with a signed link", async () => {
  await using rec = startRecorder();
  await using t = await startOutboxServer({
    ONESIGNAL_APP_ID: "os-app",
    ONESIGNAL_REST_API_KEY: "os-rest-key",
    ONESIGNAL_API_URL: rec.url,
    ...pusherAt(rec.port),
  }, { outbox: FAST_RETRY });
  await t.login("alice", "Alice");
  await t.login("bob");
  const { roomId } = await t.ok<{ roomId: string }>("alice", "POST", "/api/chat/start", {
    receiverId: "bob",
  });
  const attach = async (name: string, contentType: string, bytes: Uint8Array<ArrayBuffer>) => {
    const { upload, put } = await t.api("alice", "POST", "/api/chat/uploads", {
      roomId,
      name,
      contentType,
      size: bytes.byteLength,
    }).then((res) => res.json());
    const stored = await fetch(new URL(put.url, t.url), { method: "PUT", headers: put.headers, body: bytes });
    assert.equal(stored.status, 200, await stored.text());
    const type = contentType.startsWith("image/") ? "image" : "file";
    return (await t.ok<{ message: { id: string } }>("alice", "POST", "/api/chat/send", {
      roomId,
      type,
      uploadId: upload.id,
    })).message;
  };
  const photo = await attach("cat.png", "image/png", pngBytes(800, 600, 500));
  const rooms = await t.ok<{ rooms: { lastMessage: string }[] }>("bob", "GET", "/api/chat/rooms");
  assert.equal(rooms.rooms[0]!.lastMessage, "📷 Photo");
  await attach("notes.txt", "text/plain", new TextEncoder().encode("hello"));

  await rec.until(() => rec.notifications().length === 2, "both pushes");
  const contents = rec.notifications().map((n) => (n.contents as { en: string }).en);
  assert.deepEqual(contents, ["📷 Photo", "📎 notes.txt"]);

  const roomMessage = (e: { channel: string; name: string; data: unknown }) =>
    e.name === "new-message" && e.channel === `private-room-${roomId}` &&
    (e.data as { id?: string }).id === photo.id;
  await rec.until(() => rec.events.some(roomMessage), "the room's new-message");
  const data = rec.events.find(roomMessage)!.data as { attachmentUrl: string; [field: string]: unknown };
  assert.equal(data.attachmentWidth, 800);
  assert.equal(data.attachmentHeight, 600);
  assert.match(data.attachmentUrl, /^\/api\/chat\/uploads\/up_[\w-]+\/content\?expires=\d+&signature=/);
  const res = await fetch(new URL(data.attachmentUrl, t.url));
  assert.equal(res.status, 200);
  assert.equal((await res.arrayBuffer()).byteLength, 500);
});
