import assert from "node:assert/strict";
import type { OutboxBatch, RealtimeEvent } from "../outbox/outbox.ts";
import { ChannelPositions, positionedGateway } from "./channel_positions.ts";
import { gatewayPublisher } from "./publisher.ts";
import type { PusherEvent } from "./pusher_events.ts";
import { createRealtimeSink } from "./realtime_sink.ts";

function readBatch(order: number, options: { replayed?: true } = {}): OutboxBatch<RealtimeEvent> {
  const event: RealtimeEvent = {
    type: "message.read",
    roomId: "r1",
    messageId: `m${order}`,
    seq: order,
    readBy: "bob",
    readAt: 0,
    unreadCount: 0,
  };
  return { stream: "room:r1", order, createdAt: 0, events: [event], attempts: 0, ...options };
}

Deno.test("the realtime sink sends a room batch's events to a gateway once, except a dead batch an operator replayed", async () => {
  using kv = await Deno.openKv(":memory:");
  const sent: string[] = [];
  const gateway = {
    publish: (events: PusherEvent[]) => events.forEach((e) => sent.push(`${e.channel} ${e.name}`)),
    revokeUser: () => 0,
  };
  const publisher = gatewayPublisher(positionedGateway(gateway, new ChannelPositions()));
  const sink = createRealtimeSink(kv, publisher, { attachmentUrl: (id) => `/u/${id}` });
  assert.deepEqual(await sink.deliver([readBatch(1), readBatch(2)]), { delivered: 2 });
  assert.deepEqual(
    await sink.deliver([readBatch(1)]),
    { delivered: 1 },
    "a repeated delivery counts as delivered",
  );
  assert.deepEqual(await sink.deliver([readBatch(1, { replayed: true })]), { delivered: 1 });
  assert.deepEqual(sent, [
    "private-room-r1 message-read",
    "private-user-bob unread-updated",
    "private-room-r1 message-read",
    "private-user-bob unread-updated",
    "private-user-bob unread-updated", // the repeat: the room's event is not shown again, the user's total is fresh
    "private-room-r1 message-read", // the replay goes out whole, out of its stream's order
    "private-user-bob unread-updated",
  ]);
});
