/**
 * @module A room commit's room-channel events on this process's own sockets the
 * moment the commit returns, ahead of the outbox, when the room's previous batch
 * already went out here (`ChannelPositions`). The outbox delivers the batch
 * afterwards as always — to this gateway, which skips what it sent, and to
 * every other one — so a process that dies right after its commit loses nothing.
 */
import type { CommittedBatch } from "../actors/room_actor.ts";
import type { AttachmentLinks } from "../api/views.ts";
import { roomChannel } from "../common/channels.js";
import { type ChannelPositions, publishIfNext } from "./channel_positions.ts";
import type { Gateway } from "./gateway_api.ts";
import { revocationOf, toPusherEvents } from "./pusher_events.ts";

/**
 * Publishes each committed batch's room-channel events early when it may:
 * its room's batch before it went out here, and it revokes nothing (a removal
 * and its revocation stay in the outbox's order). Returns whether it published.
 */
export function earlyDelivery(options: {
  gateway: Pick<Gateway, "publish">;
  positions: ChannelPositions;
  links: AttachmentLinks;
}): (commit: CommittedBatch) => boolean {
  const context = { totalUnread: () => 0, links: options.links, roomChannelOnly: true };
  return (commit) => {
    if (commit.events.some((event) => revocationOf(event) !== null)) return false;
    const channel = roomChannel(commit.roomId);
    // Mapped only when the batch may go now: a room whose earlier batch is still in the outbox costs nothing.
    const events = () =>
      commit.events.flatMap((event) => toPusherEvents(event, context)).filter((event) =>
        event.channel === channel
      );
    try {
      return publishIfNext(options.gateway, options.positions, { channel, order: commit.order, events });
    } catch (err) {
      console.warn("realtime: an early publish was refused; the outbox delivers the batch", err);
      return false;
    }
  };
}
