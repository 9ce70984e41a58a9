/**
 * @module `group.added` notifications, durable with the membership change: the
 * room commit that creates a group or adds members writes a social outbox row,
 * and this sink turns it into one notification per added user (feed row,
 * `notification` on the user channel, push). A marker keyed by the outbox batch
 * makes a redelivery write nothing, and a recipient gets at most
 * `GROUP_ADDED_PER_HOUR` of them from one actor in any rolling hour (more adds
 * still add them, silently), so group adds cannot be used to flood someone.
 */
import { takeRateSlot } from "../actors/rate_limit.ts";
import type { GroupAddedEvent, OutboxBatch, SocialEvent } from "../outbox/outbox.ts";
import type { OutboxSink } from "../outbox/sink.ts";
import { estimateBytes } from "../storage/kv_size.ts";
import { keys } from "../storage/keys.ts";
import { getManyChunked } from "../storage/kv.ts";
import type { Profile, UserRecord } from "../storage/records.ts";
import { toProfile } from "../storage/users.ts";
import { commitRetrying, emptyUnit } from "../storage/commit_retry.ts";
import type { NotifyDeps } from "./deps.ts";
import { lockFor } from "./keyed_lock.ts";
import { type NotificationInput, NotificationWriter } from "./notifications.ts";

/** `group.added` notifications one actor can cause one recipient per rolling hour. */
export const GROUP_ADDED_PER_HOUR = 5;
const HOUR_MS = 3600_000;
/** How long a delivered batch's markers are kept: redeliveries (retries, replays) come well within. */
export const SOURCE_MARKER_TTL_MS = 30 * 24 * HOUR_MS;
/** Recipients per commit: three checks each (feed head, marker, cap log), within KV's 100. */
const USERS_PER_COMMIT = 30;

/** What a marker records: whether the notification was written or held back by the cap. */
interface SourceMarker {
  at: number;
  written: boolean;
}

/** The social sink: writes each batch's `group.added` notifications, in order. */
export function createSocialSink(deps: NotifyDeps): OutboxSink<SocialEvent> {
  return {
    async deliver(batches: OutboxBatch<SocialEvent>[]) {
      for (const [i, batch] of batches.entries()) {
        try {
          for (const [n, event] of batch.events.entries()) {
            await notifyGroupAdded(deps, event, `${batch.stream}:${batch.order}:${n}`);
          }
        } catch (error) {
          return { delivered: i, error };
        }
      }
      return { delivered: batches.length };
    },
  };
}

/**
 * Writes the `group.added` notification of each user in `event` once for
 * `sourceId`, in commits of `USERS_PER_COMMIT` users. Returns how many were
 * written now (not before, not held back by the cap).
 *
 * @throws {HttpError} 503 when a recipient's feed stays contended (the outbox retries).
 */
export async function notifyGroupAdded(
  deps: NotifyDeps,
  event: GroupAddedEvent,
  sourceId: string,
): Promise<number> {
  const actor = await actorProfile(deps.kv, event.actorId);
  const input: NotificationInput = {
    type: "group.added",
    title: `${actor.name} added you to ${event.roomName}`,
    link: `/messages?room=${encodeURIComponent(event.roomId)}`,
    metadata: {
      actorId: actor.id,
      actorName: actor.name,
      actorAvatar: actor.avatar,
      roomId: event.roomId,
      roomName: event.roomName,
    },
  };
  const userIds = [...new Set(event.userIds)];
  let written = 0;
  for (let i = 0; i < userIds.length; i += USERS_PER_COMMIT) {
    const part = userIds.slice(i, i + USERS_PER_COMMIT);
    written += await lockFor(deps.kv).run(part, () => writeOnce(deps, part, input, event.actorId, sourceId));
  }
  return written;
}

/** One commit: each user's marker (absent), cap log and feed head checked; notification, marker, log written. */
function writeOnce(
  deps: NotifyDeps,
  userIds: string[],
  input: NotificationInput,
  actorId: string,
  sourceId: string,
): Promise<number> {
  const markerKeys = userIds.map((id) => keys.notificationSource(id, sourceId));
  const logKeys = userIds.map((id) => keys.groupAddedLog(id, actorId));
  return commitRetrying(deps.batcher, async () => {
    const [writer, markers, logs] = await Promise.all([
      NotificationWriter.open(deps.kv, userIds, { push: deps.push }),
      getManyChunked<SourceMarker>(deps.kv, markerKeys),
      getManyChunked<number[]>(deps.kv, logKeys),
    ]);
    const unit = emptyUnit();
    const now = Date.now();
    let written = 0;
    userIds.forEach((userId, i) => {
      if (markers[i]!.versionstamp !== null) return; // this batch reached them already
      const slot = takeRateSlot(logs[i]!.value ?? [], now, GROUP_ADDED_PER_HOUR, HOUR_MS);
      const marker: SourceMarker = { at: now, written: slot.allowed };
      unit.checks.push({ key: markerKeys[i]!, versionstamp: null }, logs[i]!);
      unit.mutations.push({
        type: "set",
        key: markerKeys[i]!,
        value: marker,
        expireIn: SOURCE_MARKER_TTL_MS,
      });
      unit.bytes += estimateBytes(markerKeys[i]!, marker);
      if (!slot.allowed) return;
      unit.mutations.push({ type: "set", key: logKeys[i]!, value: slot.log, expireIn: HOUR_MS });
      unit.bytes += estimateBytes(logKeys[i]!, slot.log);
      writer.add(userId, input, now);
      written++;
    });
    writer.writeTo(unit);
    return { unit: unit.checks.length === 0 ? null : unit, result: written };
  });
}

/** The actor as their profile stands now (a user who vanished is named by id). */
async function actorProfile(kv: Deno.Kv, actorId: string): Promise<Profile> {
  const user = (await kv.get<UserRecord>(keys.user(actorId))).value;
  return user ? toProfile(user) : { id: actorId, name: actorId, avatar: null };
}
