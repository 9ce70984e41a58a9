import assert from "node:assert/strict";
import { unreadCount } from "../actors/room_head.ts";
import { loadConfig } from "../config.ts";
import { createRuntime } from "../runtime.ts";
import { keys } from "../storage/keys.ts";
import { openKv } from "../storage/kv.ts";
import type { RoomState, StoredMessage } from "../storage/records.ts";
import { expectStatus, setup } from "./helpers.ts";

type Message = { id: string; seq: number; senderId: string };

Deno.test("edits, deletes and reactions racing with sends and reads, in two runtimes on one KV file, lose nothing", async () => {
  await using t = await setup();
  // A second process stand-in over the same KV file: its commits conflict with the first one's.
  const kv2 = await openKv(t.kvPath);
  const second = await createRuntime(
    loadConfig({ KV_PATH: t.kvPath, RATE_LIMIT_SEND_PER_MIN: "0", RATE_LIMIT_WRITE_PER_MIN: "0" }),
    kv2,
  );
  try {
    const members = ["m0", "m1", "m2", "m3", "m4", "m5"];
    const tokens = new Map<string, string>();
    for (const m of members) tokens.set(m, await t.login(m));
    const call = async (i: number, user: string, method: string, path: string, body?: unknown) => {
      const app = i % 2 === 0 ? t.runtime.app : second.app;
      return await app.request(`http://localhost${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${tokens.get(user)}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    };
    const { roomId } = await expectStatus<{ roomId: string }>(
      await call(0, "m0", "POST", "/api/chat/groups", { name: "Race", memberIds: members.slice(1) }),
      200,
    );
    const sendAs = async (i: number, user: string, content: string) =>
      (await expectStatus<{ message: Message }>(
        await call(i, user, "POST", "/api/chat/send", { roomId, content }),
        200,
      )).message;

    const seeds = await Promise.all(
      Array.from({ length: 30 }, (_, i) => sendAs(i, members[i % 6]!, `seed ${i}`)),
    );
    seeds.sort((a, b) => a.seq - b.seq);
    const edited = seeds.slice(0, 12);
    const deleted = seeds.slice(12, 20);
    const reacted = seeds.slice(0, 8);

    const work: Promise<unknown>[] = [];
    let i = 0;
    for (let n = 0; n < 40; n++) work.push(sendAs(i++, members[n % 6]!, `more ${n}`));
    for (const m of edited) {
      work.push(call(i++, m.senderId, "PATCH", `/api/chat/messages/${m.id}`, { content: `edited ${m.seq}` }));
    }
    deleted.forEach((m, k) => {
      // Half by their sender, half by the owner.
      work.push(call(i++, k % 2 ? m.senderId : "m0", "DELETE", `/api/chat/messages/${m.id}`));
    });
    for (const m of reacted) {
      for (const user of members) {
        work.push(call(i++, user, "POST", `/api/chat/messages/${m.id}/reactions`, { emoji: "👍" }));
      }
    }
    for (const user of members) work.push(call(i++, user, "POST", "/api/chat/read", { roomId }));
    const results = await Promise.all(work);
    for (const res of results) {
      if (res instanceof Response) await expectStatus(res, 200);
    }
    await Promise.all([t.runtime.actors.drain(), second.actors.drain()]);

    // Seqs: 1..70, each once.
    const rows: StoredMessage[] = [];
    for await (const e of t.kv.list<StoredMessage>({ prefix: keys.messages(roomId) })) rows.push(e.value);
    assert.deepEqual(rows.map((r) => r.seq), Array.from({ length: 70 }, (_, k) => k + 1));
    // Every update landed.
    for (const m of edited) assert.equal(rows[m.seq - 1]!.content, `edited ${m.seq}`);
    for (const m of edited) assert.equal(rows[m.seq - 1]!.editCount, 1);
    for (const m of deleted) assert.ok(rows[m.seq - 1]!.deletedAt !== undefined, `deleted ${m.seq}`);
    for (const m of reacted) assert.deepEqual([...rows[m.seq - 1]!.reactions.get("👍")!].sort(), members);
    assert.equal(rows.filter((r) => r.deletedAt !== undefined).length, deleted.length);

    // Unread counts equal the visible messages after each read position; totals agree.
    const head = (await t.kv.get<RoomState>(keys.room(roomId))).value!;
    assert.equal(head.lastSeq, 70);
    for (const user of members) {
      const readSeq = head.members.get(user)!.readSeq;
      const expected = rows.filter((r) => r.seq > readSeq && r.deletedAt === undefined).length;
      assert.equal(unreadCount(head, user), expected, `${user} unread`);
      const list = await expectStatus<{ rooms: { unreadCount: number }[]; totalUnread: number }>(
        await call(0, user, "GET", "/api/chat/rooms"),
        200,
      );
      assert.equal(list.rooms[0]!.unreadCount, expected, `${user} listed unread`);
      assert.equal(list.totalUnread, expected, `${user} total`);
    }
    // Pages show neither deleted messages nor gaps among the visible ones.
    const page = await expectStatus<{ messages: Message[] }>(
      await call(1, "m3", "GET", `/api/chat/messages?roomId=${roomId}&afterSeq=0&limit=100`),
      200,
    );
    assert.deepEqual(
      page.messages.map((m) => m.seq),
      rows.filter((r) => r.deletedAt === undefined).map((r) => r.seq),
    );
    const preview = rows.filter((r) => r.deletedAt === undefined).at(-1)!;
    assert.equal(head.lastMessage?.seq, preview.seq);
  } finally {
    await second.close();
    kv2.close();
  }
});

Deno.test("deletes of the latest messages racing with sends keep the preview on the newest visible message", async () => {
  await using t = await setup();
  for (const u of ["a", "b"]) await t.login(u);
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("a", "POST", "/api/chat/groups", { name: "P", memberIds: ["b"] }),
    200,
  );
  const sent: Message[] = [];
  for (let n = 0; n < 10; n++) {
    const res = await t.api("a", "POST", "/api/chat/send", { roomId, content: `m${n}` });
    sent.push((await expectStatus<{ message: Message }>(res, 200)).message);
  }
  // Delete the newest six at once, while b sends two more.
  const racing = [
    ...sent.slice(4).map((m) => t.api("a", "DELETE", `/api/chat/messages/${m.id}`)),
    t.api("b", "POST", "/api/chat/send", { roomId, content: "late 1" }),
    t.api("b", "POST", "/api/chat/send", { roomId, content: "late 2" }),
  ];
  for (const res of await Promise.all(racing)) await expectStatus(res, 200);
  const head = (await t.kv.get<RoomState>(keys.room(roomId))).value!;
  const newest = (await t.kv.get<StoredMessage>(keys.message(roomId, 12))).value!;
  assert.ok(newest.content.startsWith("late"), "b's two sends got seqs 11 and 12, in either order");
  assert.equal(head.lastMessage?.seq, 12);
  assert.equal(head.lastMessage?.text, newest.content);
  // Now delete b's two: the preview falls back past the six deleted ones to m3.
  const late = [11, 12].map((seq) => t.api("b", "DELETE", `/api/chat/messages/${roomId}:${seq}`));
  for (const res of await Promise.all(late)) await expectStatus(res, 200);
  const after = (await t.kv.get<RoomState>(keys.room(roomId))).value!;
  assert.equal(after.lastMessage?.text, "m3");
  assert.equal(after.lastMessage?.seq, 4);
});

Deno.test("concurrent long sends into a 150-member group all commit: batches whose outbox row would pass 64 KiB are split", async () => {
  await using t = await setup();
  await t.login("a");
  const ids = Array.from({ length: 150 }, (_, i) => `member-with-a-rather-long-id-${i}`);
  const now = Date.now();
  for (const id of ids) {
    await t.kv.set(keys.user(id), { id, name: id, avatar: null, createdAt: now, updatedAt: now });
  }
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("a", "POST", "/api/chat/groups", { name: "Big", memberIds: ids }),
    200,
  );
  const sent = await Promise.all(Array.from({ length: 48 }, async (_, i) => {
    const res = await t.api("a", "POST", "/api/chat/send", { roomId, content: `${i} ${"字".repeat(3000)}` });
    return (await expectStatus<{ message: Message }>(res, 200)).message.seq;
  }));
  assert.deepEqual(sent.sort((x, y) => x - y), Array.from({ length: 48 }, (_, i) => i + 1));
});
