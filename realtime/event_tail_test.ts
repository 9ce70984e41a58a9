import assert from "node:assert/strict";
import { EventTail } from "./event_tail.ts";
import type { Publisher } from "./publisher.ts";

const event = (channel: string, data: unknown) => ({
  channel,
  name: "new-message",
  data: JSON.stringify(data),
});

Deno.test("EventTail keeps the newest events within its capacity, and pages on their ids", () => {
  const tail = new EventTail({ capacity: 3, now: () => 1000 });
  tail.record([1, 2, 3, 4, 5].map((seq) => event("private-room-g_1", { roomId: "g_1", seq })));
  assert.deepEqual(tail.list().map((e) => [e.id, e.seq]), [[3, 3], [4, 4], [5, 5]]);
  assert.deepEqual(tail.list({ after: 4 }).map((e) => e.id), [5]);
  assert.equal(tail.lastId, 5);
});

Deno.test("EventTail names the room from the channel or the data, and the seq from the data or its message", () => {
  const tail = new EventTail();
  tail.record([
    event("private-room-g_1", { seq: 7 }),
    event("private-user-bob", { message: { roomId: "g_2", seq: 3 }, roomId: "g_2" }),
    event("private-user-bob", { notification: {} }),
    { channel: "private-user-bob", name: "x", data: "not json" },
  ]);
  assert.deepEqual(tail.list().map((e) => [e.roomId, e.seq]), [["g_1", 7], ["g_2", 3], [null, null], [
    null,
    null,
  ]]);
  assert.deepEqual(tail.list({ roomId: "g_2" }).map((e) => e.channel), ["private-user-bob"]);
});

Deno.test("EventTail.wrap() records only what the publisher published", async () => {
  const tail = new EventTail();
  let fail = true;
  const inner: Publisher = {
    publish: () => fail ? Promise.reject(new Error("down")) : Promise.resolve(),
    revoke: () => Promise.resolve(),
  };
  const publisher = tail.wrap(inner);
  await assert.rejects(publisher.publish([event("private-room-g_1", { seq: 1 })]));
  assert.deepEqual(tail.list(), []);
  fail = false;
  await publisher.publish([event("private-room-g_1", { seq: 1 })]);
  assert.equal(tail.list().length, 1);
});

Deno.test("EventTail.wrap() keeps the publisher's sessions: a delivery's work is still held until flush()", async () => {
  const tail = new EventTail();
  const flushed: string[][] = [];
  const inner: Publisher = {
    publish: () => Promise.resolve(),
    revoke: () => Promise.resolve(),
    session() {
      const held: string[] = [];
      return {
        publish: (events) => Promise.resolve(void held.push(...events.map((e) => e.channel))),
        revoke: (revocation) => Promise.resolve(void held.push(`revoke ${revocation.userId}`)),
        flush: () => Promise.resolve(void flushed.push(held.splice(0))),
      };
    },
  };
  const session = tail.wrap(inner).session?.();
  assert.ok(session, "the wrapped publisher has sessions");
  await session.publish([event("private-room-g_1", { seq: 1 })]);
  await session.revoke({ userId: "bob", channels: ["private-room-g_1"] });
  assert.deepEqual(flushed, []);
  await session.flush();
  assert.deepEqual(flushed, [["private-room-g_1", "revoke bob"]]);
  assert.equal(tail.list().length, 1);
});
