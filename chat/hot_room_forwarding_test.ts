import assert from "node:assert/strict";
import { expectStatus } from "../test/helpers.ts";
import { type RuntimeGroup, type RuntimeHandle, startRuntimes } from "../test/support/two_runtimes.ts";
import { PEER_REFRESH_MS } from "../realtime/gateway_peers.ts";
import { keys } from "../storage/keys.ts";
import { ForwardingRoomActors } from "./hot_room_forwarding.ts";

type Message = { id: string; seq: number; content: string; senderId: string; reactions?: unknown };

/** Two started runtimes on one KV file that know each other, and a group of alice, bob and carol hot in both. */
async function hotGroup(group: RuntimeGroup) {
  const [a, b] = group.runtimes as [RuntimeHandle, RuntimeHandle];
  for (const handle of [a, b]) handle.runtime.start({ port: 0 });
  for (const user of ["bob", "carol", "eve"]) await a.api(user, "GET", "/api/me");
  const { roomId } = await expectStatus<{ roomId: string }>(
    await a.api("alice", "POST", "/api/chat/groups", { name: "Hot", memberIds: ["bob", "carol"] }),
    200,
  );
  const actors = [a, b].map((h) => h.runtime.actors);
  assert.ok(actors.every((x) => x instanceof ForwardingRoomActors), "forwarding is on over a KV file");
  // Both registered; each sees the other once its cached list of peers is refreshed.
  for (
    let i = 0;
    i < 500 && (await Array.fromAsync(a.kv.list({ prefix: keys.gatewayPeers() }))).length < 2;
    i++
  ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, PEER_REFRESH_MS + 50));
  for (const x of actors as ForwardingRoomActors[]) x.markHot(roomId);
  return { a, b, roomId, actors };
}

Deno.test("a hot room's sends through two runtimes go to one owner: seqs stay 1..n, answers and refusals are as local ones", async () => {
  await using group = await startRuntimes(2, { RATE_LIMIT_SEND_PER_MIN: "0" });
  const { a, b, roomId, actors } = await hotGroup(group);

  const senders = ["alice", "bob", "carol"];
  const sent = await Promise.all(
    Array.from({ length: 30 }, async (_, i) =>
      (await expectStatus<{ message: Message }>(
        await [a, b][i % 2]!.api(senders[i % 3]!, "POST", "/api/chat/send", { roomId, content: `m${i}` }),
        200,
      )).message),
  );
  assert.deepEqual(sent.map((m) => m.seq).sort((x, y) => x - y), Array.from({ length: 30 }, (_, i) => i + 1));
  const [fa, fb] = actors as ForwardingRoomActors[];
  assert.ok(fa!.forwarded.out + fb!.forwarded.out >= 15, "the non-owner's sends went to the owner");
  assert.equal(fa!.forwarded.out + fb!.forwarded.out, fa!.forwarded.in + fb!.forwarded.in);
  assert.ok(fa!.forwarded.out === 0 || fb!.forwarded.out === 0, "one owner: only the other forwards");

  // A forwarded answer has the same shape as a local one, and a refusal keeps its status and message.
  const local = sent.find((_, i) => (i % 2 === 0) === (fa!.forwarded.out === 0))!;
  const remote = sent.find((_, i) => (i % 2 === 0) !== (fa!.forwarded.out === 0))!;
  assert.deepEqual(Object.keys(remote).sort(), Object.keys(local).sort());
  for (const handle of [a, b]) {
    const res = await handle.api("eve", "POST", "/api/chat/send", { roomId, content: "let me in" });
    assert.equal(res.status, 404, "a never-member is told the room does not exist, through either");
    assert.deepEqual(await res.json(), { error: "Room not found" });
  }
  const page = await expectStatus<{ messages: Message[] }>(
    await b.api("alice", "GET", `/api/chat/messages?roomId=${roomId}&limit=50`),
    200,
  );
  assert.equal(page.messages.length, 30);
});

Deno.test("the owner indexes a hot room's forwarded sends: the forwarding runtime writes no index, search finds them through either", async () => {
  await using group = await startRuntimes(2, { RATE_LIMIT_SEND_PER_MIN: "0" });
  const { a, b, roomId, actors } = await hotGroup(group);
  const [fa, fb] = actors as ForwardingRoomActors[];
  await expectStatus(await a.api("alice", "POST", "/api/chat/send", { roomId, content: "needle 0" }), 200);
  const [forwarder, owner, forwarding] = fa!.forwarded.out > 0 ? [a, b, fa!] : [b, a, fb!];
  await Promise.all([a, b].map((h) => h.runtime.indexer.idle()));
  const indexedBefore = forwarder.runtime.indexer.indexedRooms;
  for (let i = 1; i < 20; i++) {
    await expectStatus(
      await forwarder.api(["alice", "bob"][i % 2]!, "POST", "/api/chat/send", {
        roomId,
        content: `needle ${i}`,
      }),
      200,
    );
  }
  assert.ok(forwarding.forwarded.out >= 19, "the forwarding runtime sent them to the owner");
  await Promise.all([a, b].map((h) => h.runtime.indexer.idle()));
  assert.equal(
    forwarder.runtime.indexer.indexedRooms,
    indexedBefore,
    "the forwarding runtime indexed nothing",
  );
  assert.ok(owner.runtime.indexer.indexedRooms > 0, "the runtime that committed the sends indexed them");
  for (const handle of [a, b]) {
    const found = await expectStatus<{ messages: unknown[] }>(
      await handle.api("bob", "GET", `/api/chat/search?q=needle&roomId=${roomId}&limit=50`),
      200,
    );
    assert.equal(found.messages.length, 20);
  }
});
