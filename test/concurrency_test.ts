import assert from "node:assert/strict";
import { expectStatus, setup } from "./helpers.ts";
import { startServer } from "./support/server_process.ts";

type Sent = { seq: number; senderId: string; roomId: string; id: string };

/**
 * Unread per member: messages by others after the member's read position, which is the
 * highest of their own sends and their explicit reads.
 */
function expectedUnread(sent: Sent[], member: string, readSeq = 0): number {
  const position = Math.max(readSeq, ...sent.filter((m) => m.senderId === member).map((m) => m.seq));
  return sent.filter((m) => m.seq > position && m.senderId !== member).length;
}

Deno.test("200 concurrent sends into one group get seq 1..200 once each and exact unread counts", async () => {
  await using t = await setup();
  const members = Array.from({ length: 10 }, (_, i) => `m${i}`);
  for (const m of members) await t.login(m);
  const { roomId } = await expectStatus<{ roomId: string }>(
    await t.api("m0", "POST", "/api/chat/groups", { name: "Hot", memberIds: members.slice(1) }),
    200,
  );
  const sent = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
    const res = await t.api(members[i % 10]!, "POST", "/api/chat/send", { roomId, content: `n${i}` });
    return (await expectStatus<{ message: Sent }>(res, 200)).message;
  }));
  assert.deepEqual(
    sent.map((m) => m.seq).sort((a, b) => a - b),
    Array.from({ length: 200 }, (_, i) => i + 1),
  );
  for (const m of members) {
    const list = await expectStatus<{ rooms: { unreadCount: number }[]; totalUnread: number }>(
      await t.api(m, "GET", "/api/chat/rooms"),
      200,
    );
    assert.equal(list.rooms[0]!.unreadCount, expectedUnread(sent, m), m);
    assert.equal(list.totalUnread, expectedUnread(sent, m), m);
  }
});

Deno.test("50 concurrent first messages between one pair make exactly one room", async () => {
  await using t = await setup();
  await t.login("alice");
  await t.login("bob");
  const sent = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const [from, to] = i % 2 ? ["alice", "bob"] : ["bob", "alice"];
    const res = await t.api(from, "POST", "/api/chat/send", { receiverId: to, content: `hi ${i}` });
    return (await expectStatus<{ message: Sent }>(res, 200)).message;
  }));
  assert.equal(new Set(sent.map((m) => m.roomId)).size, 1);
  assert.deepEqual(sent.map((m) => m.seq).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1));
  const list = await expectStatus<{ rooms: unknown[] }>(await t.api("alice", "GET", "/api/chat/rooms"), 200);
  assert.equal(list.rooms.length, 1);
});

Deno.test({
  name: "two server processes on one KV file lose nothing and double-count nothing under concurrent load",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "durable-chat-two-" });
    const env = {
      KV_PATH: `${dir}/chat.kv`,
      AUTH_JWT_SECRET: "t".repeat(40),
      DEV_LOGIN: "1",
      RATE_LIMIT_SEND_PER_MIN: "0",
    };
    await using a = await startServer(env);
    await using b = await startServer(env);
    const servers = [a, b];
    const users = ["u0", "u1", "u2", "u3", "u4", "u5"];
    const tokens = new Map<string, string>();
    for (const u of users) tokens.set(u, await a.login(u));
    const call = async (server: number, user: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${servers[server]!.url}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${tokens.get(user)}`,
          ...(body ? { "Content-Type": "application/json" } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return res;
    };
    const { roomId: groupId } = await expectStatus<{ roomId: string }>(
      await call(1, "u0", "POST", "/api/chat/groups", { name: "Both", memberIds: users.slice(1) }),
      200,
    );
    // Each send alternates processes; a 503 is retried with the same clientMessageId, as a client would.
    const sendOnce = async (i: number, body: Record<string, unknown>, user: string): Promise<Sent> => {
      for (let attempt = 0;; attempt++) {
        const res = await call((i + attempt) % 2, user, "POST", "/api/chat/send", {
          ...body,
          clientMessageId: `c${i}`,
        });
        if (res.status === 503 && attempt < 10) {
          await res.body?.cancel();
          continue;
        }
        return (await expectStatus<{ message: Sent }>(res, 200)).message;
      }
    };
    // 24 clients work through 400 operations: sends to the shared group and to direct rooms, and
    // explicit reads of messages already acknowledged. Read positions end at the maximum of a
    // member's own sends and reads, whatever the interleaving, so the expected counts are exact.
    const sent: Sent[] = [];
    const readUpTo = new Map<string, number>(); // `${user} ${roomId}` → highest seq read explicitly
    let next = 0;
    const worker = async () => {
      while (next < 400) {
        const i = next++;
        const user = users[i % users.length]!;
        const mine = sent.filter((m) => m.roomId === groupId);
        if (i % 4 === 3 && mine.length > 0) {
          const target = mine[(i * 7) % mine.length]!;
          const res = await call(i % 2, user, "POST", "/api/chat/read", {
            roomId: groupId,
            messageIds: [target.id],
          });
          await expectStatus(res, 200);
          const key = `${user} ${groupId}`;
          readUpTo.set(key, Math.max(readUpTo.get(key) ?? 0, target.seq));
          continue;
        }
        const direct = i % 4 === 2;
        const peer = users[(i + 1) % users.length]!;
        sent.push(
          await sendOnce(
            i,
            direct ? { receiverId: peer, content: `d${i}` } : { roomId: groupId, content: `g${i}` },
            user,
          ),
        );
      }
    };
    await Promise.all(Array.from({ length: 24 }, worker));

    const byRoom = Map.groupBy(sent, (m) => m.roomId);
    for (const [roomId, messages] of byRoom) {
      const seqs = messages.map((m) => m.seq).sort((x, y) => x - y);
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `room ${roomId} seqs`);
      // Every acknowledged message is stored exactly once.
      const stored: Sent[] = [];
      for (let more = true; more;) {
        const query = `roomId=${roomId}&afterSeq=${stored.length}&limit=100`;
        const res = await call(
          stored.length % 2,
          messages[0]!.senderId,
          "GET",
          `/api/chat/messages?${query}`,
        );
        const page = await expectStatus<{ messages: Sent[]; hasMore: boolean }>(res, 200);
        stored.push(...page.messages);
        more = page.hasMore;
      }
      assert.deepEqual(stored.map((m) => m.seq), seqs, `room ${roomId} stored once each, in order`);
      assert.deepEqual(stored.map((m) => m.id).sort(), messages.map((m) => m.id).sort());
    }
    for (const u of users) {
      const list = await expectStatus<{ rooms: { id: string; unreadCount: number }[]; totalUnread: number }>(
        await call(1, u, "GET", "/api/chat/rooms?limit=100"),
        200,
      );
      let total = 0;
      for (const room of list.rooms) {
        const expected = expectedUnread(byRoom.get(room.id) ?? [], u, readUpTo.get(`${u} ${room.id}`) ?? 0);
        assert.equal(room.unreadCount, expected, `${u} in ${room.id}`);
        total += expected;
      }
      assert.equal(list.totalUnread, total, `${u} total`);
    }
    await Deno.remove(dir, { recursive: true });
  },
});
