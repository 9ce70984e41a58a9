/**
 * @module Where each room channel's outbox events stand on this process's
 * gateway. A room's outbox batches are numbered 1, 2, 3, … in its stream (every
 * room commit with events takes the next `order`, under the head's check), so
 * an event's position — its batch's order and its index among the batch's
 * room-channel events — says exactly what came before it. With that, a commit's
 * room-channel events may go out the moment it commits, when everything before
 * them already went out here, and the outbox's later delivery of the same
 * positions (at least once, to every process) is not sent to these sockets again.
 */
import { roomChannel } from "../common/channels.js";
import type { Gateway } from "./gateway_api.ts";
import type { PusherEvent, Revocation } from "./pusher_events.ts";

/** An event's place in its room channel: its batch's `order` and index, and whether it is the batch's last. */
export interface Position {
  order: number;
  index: number;
  last: boolean;
}

/** Channels whose position is kept at most; the least recently moved is forgotten first. */
const MAX_CHANNELS = 100_000;

/**
 * The last position published on each room channel of one gateway. A forgotten
 * channel only costs its next commit the early path, or (if it was ahead of the
 * outbox) one repeated event, which "at least once" allows and clients drop by `seq`.
 */
export class ChannelPositions {
  readonly #at = new Map<string, Position>();
  readonly #max: number;

  constructor(options: { maxChannels?: number } = {}) {
    this.#max = options.maxChannels ?? MAX_CHANNELS;
  }

  /** Whether `position` on `channel` was published here already. */
  published(channel: string, position: Position): boolean {
    const at = this.#at.get(channel);
    return at !== undefined &&
      (position.order < at.order || (position.order === at.order && position.index <= at.index));
  }

  /**
   * Whether batch `order` comes next on `channel`: every event of every batch
   * before it was published here (the first batch of a room has nothing before it).
   */
  isNext(channel: string, order: number): boolean {
    const at = this.#at.get(channel);
    return at === undefined ? order === 1 : at.order === order - 1 && at.last;
  }

  /** Records `position` as the last published on `channel`. */
  advance(channel: string, position: Position): void {
    this.#at.delete(channel); // re-inserted last: the map's order is least recently moved first
    this.#at.set(channel, position);
    if (this.#at.size > this.#max) this.#at.delete(this.#at.keys().next().value!);
  }
}

/** One batch of a room's stream as steps, its room-channel events given their positions. */
export function positionBatch(
  roomId: string,
  order: number,
  steps: (PusherEvent | Revocation)[],
): (PusherEvent | Revocation)[] {
  const channel = roomChannel(roomId);
  const count = steps.filter((s) => "channel" in s && s.channel === channel).length;
  let index = 0;
  return steps.map((step) => {
    if (!("channel" in step) || step.channel !== channel) return step;
    const position = { order, index, last: index === count - 1 };
    index++;
    return { ...step, position };
  });
}

/**
 * `gateway` seen through `positions`: an event with a position at or before
 * its channel's is left out, the others are published and move it. Every
 * publish of this gateway, from the outbox or a peer, goes through it.
 */
export function positionedGateway(
  gateway: Pick<Gateway, "publish" | "revokeUser">,
  positions: ChannelPositions,
): Pick<Gateway, "publish" | "revokeUser"> {
  return {
    publish(events) {
      const fresh = events.filter((e: PusherEvent) =>
        !e.position || !positions.published(e.channel, e.position)
      );
      gateway.publish(fresh); // throws before sending anything when an event breaks the rules
      for (const e of fresh as PusherEvent[]) if (e.position) positions.advance(e.channel, e.position);
    },
    revokeUser: (userId, channels) => gateway.revokeUser(userId, channels),
  };
}

/**
 * Publishes the room-channel events of batch `order` of a room now, if it is
 * the next on `channel` here, and records them as published; else publishes
 * nothing and leaves them to the outbox. `events` is only built when it is
 * next. Returns whether it published.
 */
export function publishIfNext(
  gateway: Pick<Gateway, "publish">,
  positions: ChannelPositions,
  batch: { channel: string; order: number; events: () => PusherEvent[] },
): boolean {
  if (!positions.isNext(batch.channel, batch.order)) return false;
  const events = batch.events();
  gateway.publish(events);
  const index = events.length - 1;
  positions.advance(batch.channel, { order: batch.order, index, last: true });
  return true;
}
