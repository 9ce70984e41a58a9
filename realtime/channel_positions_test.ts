import assert from "node:assert/strict";
import { ChannelPositions, positionBatch, positionedGateway, publishIfNext } from "./channel_positions.ts";
import type { PusherEvent } from "./pusher_events.ts";

const ROOM = "private-room-r1";

function event(channel: string, name: string, data = "{}"): PusherEvent {
  return { channel, name, data };
}

/** A gateway that keeps what it sent, and refuses events named "bad" as the events API would. */
function sentGateway() {
  const sent: string[] = [];
  return {
    sent,
    publish(events: PusherEvent[]) {
      if (events.some((e) => e.name === "bad")) throw new Error("refused");
      for (const e of events) sent.push(`${e.channel} ${e.name}`);
    },
    revokeUser: () => 0,
  };
}

Deno.test("positionBatch numbers a batch's room-channel events and leaves the rest (and revocations) alone", () => {
  const steps = positionBatch("r1", 7, [
    event(ROOM, "new-message"),
    event("private-user-bob", "new-message"),
    { userId: "carol", channels: [ROOM] },
    event(ROOM, "member-removed"),
  ]);
  assert.deepEqual(steps.map((s) => "position" in s ? s.position : null), [
    { order: 7, index: 0, last: false },
    null,
    null,
    { order: 7, index: 1, last: true },
  ]);
});

Deno.test("ChannelPositions: a batch is next only after every event of the batch before it; the first has nothing before it", () => {
  const positions = new ChannelPositions();
  assert.equal(positions.isNext(ROOM, 1), true);
  assert.equal(positions.isNext(ROOM, 2), false, "an unknown channel's later batch may have missed ones");
  positions.advance(ROOM, { order: 2, index: 0, last: false });
  assert.equal(positions.isNext(ROOM, 3), false, "batch 2 is half out");
  positions.advance(ROOM, { order: 2, index: 1, last: true });
  assert.equal(positions.isNext(ROOM, 3), true);
  assert.equal(positions.isNext(ROOM, 4), false);
  assert.equal(positions.published(ROOM, { order: 2, index: 1, last: true }), true);
  assert.equal(positions.published(ROOM, { order: 1, index: 5, last: true }), true);
  assert.equal(positions.published(ROOM, { order: 3, index: 0, last: true }), false);
});

Deno.test("ChannelPositions forgets the least recently moved channel beyond its bound", () => {
  const positions = new ChannelPositions({ maxChannels: 2 });
  positions.advance("a", { order: 1, index: 0, last: true });
  positions.advance("b", { order: 1, index: 0, last: true });
  positions.advance("a", { order: 2, index: 0, last: true });
  positions.advance("c", { order: 1, index: 0, last: true });
  assert.equal(positions.isNext("a", 3), true);
  assert.equal(positions.isNext("c", 2), true);
  assert.equal(positions.isNext("b", 2), false, "b was forgotten: its next batch is left to the outbox");
});

Deno.test("positionedGateway sends each position once, whichever path sent it first, and unpositioned events always", () => {
  const gateway = sentGateway();
  const positions = new ChannelPositions();
  const viaOutbox = positionedGateway(gateway, positions);
  const batch2 = positionBatch("r1", 2, [
    event(ROOM, "new-message"),
    event("private-user-bob", "new-message"),
  ]);
  viaOutbox.publish(batch2 as PusherEvent[]);
  assert.equal(
    publishIfNext(gateway, positions, {
      channel: ROOM,
      order: 3,
      events: () => [event(ROOM, "message-read")],
    }),
    true,
  );
  let built = 0;
  assert.equal(
    publishIfNext(gateway, positions, {
      channel: ROOM,
      order: 5,
      events: () => {
        built++;
        return [event(ROOM, "new-message")];
      },
    }),
    false,
    "batch 4 has not gone out here",
  );
  assert.equal(built, 0, "a batch that may not go now is not mapped");
  // The outbox delivers 2 again (a retry) and then 3 (sent early): only what was never sent goes out.
  viaOutbox.publish(batch2 as PusherEvent[]);
  viaOutbox.publish(
    positionBatch("r1", 3, [event(ROOM, "message-read"), event("private-user-bob", "x")]) as PusherEvent[],
  );
  assert.deepEqual(gateway.sent, [
    `${ROOM} new-message`,
    "private-user-bob new-message",
    `${ROOM} message-read`,
    "private-user-bob new-message",
    "private-user-bob x",
  ]);
});

Deno.test("positionedGateway moves no position when the gateway refuses the events", () => {
  const gateway = sentGateway();
  const positions = new ChannelPositions();
  const viaOutbox = positionedGateway(gateway, positions);
  const refused = positionBatch("r1", 1, [event(ROOM, "bad")]) as PusherEvent[];
  assert.throws(() => viaOutbox.publish(refused));
  assert.equal(positions.isNext(ROOM, 1), true, "nothing of batch 1 went out");
  assert.equal(publishIfNext(gateway, positions, { channel: ROOM, order: 1, events: () => [] }), true);
  assert.equal(positions.isNext(ROOM, 2), true, "a batch without room-channel events still counts as out");
});
