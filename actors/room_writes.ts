/**
 * @module Turns a finished batch into one commit unit: the head under its
 * versionstamp check, message rows, the members' room-list entries and unread
 * totals (derived by diffing the head before and after), and the outbox rows.
 */
import { isDeepStrictEqual } from "node:util";
import { outboxWrite, roomStream } from "../outbox/outbox.ts";
import { type CommitUnit, estimateBytes } from "../storage/commit_batcher.ts";
import { keys } from "../storage/keys.ts";
import type { RoomState } from "../storage/records.ts";
import { RATE_WINDOW_MS } from "./rate_limit.ts";
import { previewText, type Working } from "./room_step.ts";
import { isActive, memberOf, unreadCount } from "./room_head.ts";

/** The head as it was read, with the versionstamp the commit checks. */
export interface LoadedHead {
  state: RoomState | null;
  versionstamp: string | null;
}

/** Versionstamps of the send logs the batch read (null: no log yet). */
export type SendLogVersions = Map<string, string | null>;

/** Whether the batch changed anything that must be committed. */
export function hasWrites(before: LoadedHead, work: Working): boolean {
  return work.events.length > 0 || work.changedMessages.size > 0 || work.changedSendLogs.size > 0 ||
    !isDeepStrictEqual(before.state, work.state);
}

/**
 * Builds the commit unit of a batch. `work.state.outboxSeq` is advanced here
 * when the batch produced events, so call it once per batch.
 */
export function buildRoomUnit(
  before: LoadedHead,
  work: Working,
  options: {
    now: number;
    push: boolean;
    sendLogVersions: SendLogVersions;
    /** Rows the batch decided on but does not write (a direct room's blocks): checked too. */
    readChecks?: Deno.AtomicCheck[];
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
  // Edited and deleted messages are re-indexed for search after the commit.
  const reindex = new Set(
    work.events.flatMap((e) => e.type === "message.updated" || e.type === "message.deleted" ? [e.seq] : []),
  );
  for (const seq of reindex) set(keys.searchTodo(work.roomId, seq), null);
  for (const [senderId, clientMessageId, seq] of work.newClientMessages) {
    set(keys.clientMessage(work.roomId, senderId, clientMessageId), seq);
  }
  for (const userId of work.changedSendLogs) {
    const key = keys.sendLog(userId);
    unit.checks.push({ key, versionstamp: options.sendLogVersions.get(userId) ?? null });
    set(key, work.facts.sendLogs.get(userId), RATE_WINDOW_MS * 2);
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
      unit.mutations.push({ type: "sum", key, value: wrappingU64(delta) });
      unit.bytes += estimateBytes(key) + 16;
    }
  }
}

function listKey(state: RoomState, userId: string): Deno.KvKey | null {
  const member = memberOf(state, userId);
  if (!isActive(member)) return null;
  return keys.userRoom(userId, member.archived, state.lastActivityAt, state.id);
}

/** `sum` adds modulo 2^64, so adding 2^64 − n subtracts n. */
function wrappingU64(delta: number): Deno.KvU64 {
  return new Deno.KvU64(BigInt.asUintN(64, BigInt(delta)));
}
