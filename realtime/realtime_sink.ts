/**
 * @module The outbox's realtime sink: each batch's events as Pusher events (the
 * unread totals read at delivery), published in stream order, and removed
 * members' access ended between the events where the removal happened.
 */
import type { AttachmentLinks } from "../api/views.ts";
import { type OutboxBatch, type RealtimeEvent, roomOfStream } from "../outbox/outbox.ts";
import type { OutboxSink } from "../outbox/sink.ts";
import { readUnreadTotals } from "../storage/room_reads.ts";
import { positionBatch } from "./channel_positions.ts";
import type { Publisher } from "./publisher.ts";
import {
  MAX_BATCH_EVENTS,
  type PusherEvent,
  type Revocation,
  revocationOf,
  toPusherEvents,
  usersNeedingTotals,
} from "./pusher_events.ts";

/**
 * The realtime sink: maps each batch's events to Pusher events (unread totals
 * read now, at delivery) and publishes them in order, across batches, ten at a
 * time. Reports how many batches went out completely.
 */
export function createRealtimeSink(
  kv: Deno.Kv,
  publisher: Publisher,
  links: AttachmentLinks,
): OutboxSink<RealtimeEvent> {
  return {
    async deliver(batches: OutboxBatch<RealtimeEvent>[]) {
      const totals = await readUnreadTotals(kv, usersNeedingTotals(batches.flatMap((b) => b.events)));
      const context = { totalUnread: (userId: string) => totals.get(userId) ?? 0, links };
      // A revocation follows the events of its removal and precedes everything after it.
      const steps: (PusherEvent | Revocation)[] = [];
      const ends: number[] = []; // steps[0, ends[i]) complete batches 0..i
      for (const batch of batches) {
        const batchSteps: (PusherEvent | Revocation)[] = [];
        for (const event of batch.events) {
          batchSteps.push(...toPusherEvents(event, context));
          const revocation = revocationOf(event);
          if (revocation) batchSteps.push(revocation);
        }
        // A room's events carry their place in its stream: a gateway that sent them early skips them.
        const roomId = batch.replayed ? null : roomOfStream(batch.stream);
        steps.push(...(roomId === null ? batchSteps : positionBatch(roomId, batch.order, batchSteps)));
        ends.push(steps.length);
      }
      const session = publisher.session?.();
      const out = session ?? publisher;
      let sent = 0;
      try {
        for (const run of runs(steps)) {
          if ("userId" in run) await out.revoke(run);
          else await out.publish(run);
          sent += "userId" in run ? 1 : run.length;
        }
      } catch (error) {
        // What went out before the failure counts once the session has sent it on too.
        const flushed = await session?.flush().then(() => null, (err: unknown) => err);
        if (flushed) return { delivered: 0, error: flushed };
        return { delivered: ends.filter((end) => end <= sent).length, error };
      }
      try {
        await session?.flush();
      } catch (error) {
        return { delivered: 0, error };
      }
      return { delivered: batches.length };
    },
  };
}

/** Steps in order: runs of up to ten events between revocations, and each revocation alone. */
function* runs(steps: (PusherEvent | Revocation)[]): Generator<PusherEvent[] | Revocation> {
  let events: PusherEvent[] = [];
  for (const step of steps) {
    if ("userId" in step) {
      if (events.length > 0) yield events;
      events = [];
      yield step;
      continue;
    }
    events.push(step);
    if (events.length === MAX_BATCH_EVENTS) {
      yield events;
      events = [];
    }
  }
  if (events.length > 0) yield events;
}
