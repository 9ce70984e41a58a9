/**
 * @module Turns a finished batch into one commit unit: the head under its
 * versionstamp check, message rows, the members' room-list entries and unread
 * totals (derived by diffing the head before and after), and the outbox rows.
 */
import { isDeepStrictEqual } from "node:util";
import { outboxWrite, roomStream } from "../outbox/outbox.ts";
import type { CommitUnit } from "../storage/commit_batcher.ts";
import { sumMutation } from "../storage/counters.ts";
import { keys } from "../storage/keys.ts";
import { estimateBytes } from "../storage/kv_size.ts";
import type { RoomState } from "../storage/records.ts";
import { RATE_WINDOW_MS } from "./rate_limit.ts";
import { previewText } from "../common/preview.js";
import { type Batch, parseRateLogKey } from "./commands/command.ts";
import { isActive, memberOf, unreadCount } from "./room_head.ts";

/** The head as it was read, with the versionstamp the commit checks. */
export interface LoadedHead {
  state: RoomState | null;
  versionstamp: string | null;
}

/** Versionstamps of the rate logs the batch read, by `rateLogKey` (null: no log yet). */
export type RateLogVersions = Map<string, string | null>;

/** How long a commit receipt is kept: far longer than a batch keeps retrying. */
export const RECEIPT_TTL_MS = 10 * 60_000;

/** Whether the batch changed anything that must be committed. */
export function hasWrites(before: LoadedHead, work: Batch): boolean {
  return work.events.length > 0 || work.changedMessages.size > 0 || work.changedRateLogs.size > 0 ||
    work.derivedRows.length > 0 || !isDeepStrictEqual(before.state, work.state);
}

/**
 * Builds the commit unit of a batch. `work.state.outboxSeq` is advanced here
 * when the batch produced events, so call it once per batch.
 */
export function buildRoomUnit(
  before: LoadedHead,
  work: Batch,
  options: {
    now: number;
    push: boolean;
    rateLogVersions: RateLogVersions;
    /** Rows the batch decided on but does not write (a direct room's blocks): checked too. */
    readChecks?: Deno.AtomicCheck[];
    /**
     * Names this attempt: written with it, so that after a commit whose outcome
     * was not reported (a timeout, a retried commit) the actor can tell whether
     * it happened instead of applying the batch twice.
     */
    receipt?: string;
  },
): CommitUnit {
  const after = work.state;
  if (after === null) throw new TypeError("A batch without a room has nothing to commit");
  const unit: CommitUnit = {
    checks: [
      { key: keys.room(work.roomId), versionstamp: before.versionstamp },
      ...(options.readChecks ?? []),
    ],
    mutations: [],
    bytes: 0,
  };
  const set = (key: Deno.KvKey, value: unknown, expireIn?: number) => {
    unit.mutations.push({ type: "set", key, value, ...(expireIn ? { expireIn } : {}) });
    unit.bytes += estimateBytes(key, value);
  };

  for (const message of work.changedMessages.values()) {
    set(keys.message(work.roomId, message.seq), message);
  }
  for (const version of work.newVersions) {
    set(keys.messageVersion(work.roomId, version.seq, version.version), version);
  }
  // What the commands' entries derive (search to-dos, idempotency records); for one key, the last row.
  const derived = new Map(work.derivedRows.map((row) => [JSON.stringify(row.key), row]));
  for (const row of derived.values()) set(row.key, row.value);
  for (const logKey of work.changedRateLogs) {
    const { kind, userId } = parseRateLogKey(logKey);
    const key = keys.rateLog(kind, userId);
    unit.checks.push({ key, versionstamp: options.rateLogVersions.get(logKey) ?? null });
    set(key, work.facts.rateLogs.get(logKey), RATE_WINDOW_MS * 2);
  }
  if (options.receipt !== undefined) {
    set(keys.commitReceipt(work.roomId, options.receipt), null, RECEIPT_TTL_MS);
  }
  writeMemberIndexes(unit, before.state, after);
  if (work.events.length > 0) {
    after.outboxSeq += 1;
    const outbox = outboxWrite(
      {
        stream: roomStream(work.roomId),
        order: after.outboxSeq,
        now: options.now,
        push: options.push,
        room: after,
      },
      work.events,
      (event) => previewText(event.message),
    );
    unit.mutations.push(...outbox.mutations);
    unit.bytes += outbox.bytes;
    unit.wake = outbox.wake;
  }
  set(keys.room(work.roomId), after);
  return unit;
}

/**
 * Moves each member's room-list entry when its sort key or archive flag changed,
 * and adds the change in each member's unread count to their total. Both follow
 * from the two heads, so totals agree with the per-room counts by construction.
 */
function writeMemberIndexes(unit: CommitUnit, before: RoomState | null, after: RoomState): void {
  const userIds = new Set([...(before?.members.keys() ?? []), ...after.members.keys()]);
  for (const userId of userIds) {
    const oldKey = before ? listKey(before, userId) : null;
    const newKey = listKey(after, userId);
    if (JSON.stringify(oldKey) !== JSON.stringify(newKey)) {
      if (oldKey) unit.mutations.push({ type: "delete", key: oldKey });
      if (newKey) unit.mutations.push({ type: "set", key: newKey, value: null });
      unit.bytes += estimateBytes(oldKey ?? []) + estimateBytes(newKey ?? []);
    }
    const delta = unreadCount(after, userId) - (before ? unreadCount(before, userId) : 0);
    if (delta !== 0) {
      const key = keys.unreadTotal(userId);
      unit.mutations.push(sumMutation(key, delta));
      unit.bytes += estimateBytes(key) + 16;
    }
  }
}

function listKey(state: RoomState, userId: string): Deno.KvKey | null {
  const member = memberOf(state, userId);
  if (!isActive(member)) return null;
  return keys.userRoom(userId, member.archived, state.lastActivityAt, state.id);
}
