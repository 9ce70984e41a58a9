/**
 * @module Reading rooms and messages without the actor: heads, a user's room
 * list page, message pages. Every page is a bounded range read, so its cost
 * does not depend on how many rooms or messages exist.
 */
import { counterValue } from "./counters.ts";
import { parseKey } from "./key_parsers.ts";
import { keys } from "./keys.ts";
import { getManyChunked } from "./kv.ts";
import type { MessageVersion, RoomState, StoredMessage } from "./records.ts";

/** A room head with the versionstamp it was read at. */
export async function readHead(kv: Deno.Kv, roomId: string): Promise<Deno.KvEntryMaybe<RoomState>> {
  return await kv.get<RoomState>(keys.room(roomId));
}

/** Room heads by id, in the order asked; missing rooms are left out. */
export async function readHeads(kv: Deno.Kv, roomIds: string[]): Promise<RoomState[]> {
  const entries = await getManyChunked<RoomState>(kv, roomIds.map((id) => keys.room(id)));
  return entries.flatMap((e) => (e.value ? [e.value] : []));
}

/** Where a room-list page ends: the sort key of its last room. */
export interface RoomListPosition {
  lastActivityAt: number;
  roomId: string;
}

/**
 * One page of the user's room ids, most recent activity first, after `after`.
 * `next` is set when more rooms follow.
 */
export async function listUserRoomIds(
  kv: Deno.Kv,
  userId: string,
  options: { archived: boolean; limit: number; after?: RoomListPosition },
): Promise<{ roomIds: string[]; next?: RoomListPosition }> {
  const prefix = keys.userRooms(userId, options.archived);
  const selector = options.after
    ? {
      prefix,
      end: keys.userRoom(userId, options.archived, options.after.lastActivityAt, options.after.roomId),
    }
    : { prefix };
  const found: RoomListPosition[] = [];
  for await (const entry of kv.list(selector, { reverse: true, limit: options.limit + 1 })) {
    const { lastActivityAt, roomId } = parseKey.userRoom(entry.key);
    found.push({ lastActivityAt, roomId });
  }
  const page = found.slice(0, options.limit);
  return {
    roomIds: page.map((p) => p.roomId),
    ...(found.length > options.limit ? { next: page[page.length - 1] } : {}),
  };
}

/**
 * Ids of the user's active rooms, archived or not, most recent activity first,
 * at most `limit` of them.
 */
export async function listActiveRoomIds(kv: Deno.Kv, userId: string, limit: number): Promise<string[]> {
  const found: RoomListPosition[] = [];
  for (const archived of [false, true]) {
    const iter = kv.list({ prefix: keys.userRooms(userId, archived) }, { reverse: true, limit });
    for await (const entry of iter) {
      const { lastActivityAt, roomId } = parseKey.userRoom(entry.key);
      found.push({ lastActivityAt, roomId });
    }
  }
  found.sort((a, b) => b.lastActivityAt - a.lastActivityAt);
  return found.slice(0, limit).map((p) => p.roomId);
}

/** Sum of the user's unread counts over their active rooms. */
export async function readUnreadTotal(kv: Deno.Kv, userId: string): Promise<number> {
  return unreadTotalOf(await kv.get(keys.unreadTotal(userId)));
}

/** Each user's unread total, read together. */
export async function readUnreadTotals(kv: Deno.Kv, userIds: string[]): Promise<Map<string, number>> {
  const entries = await getManyChunked(kv, userIds.map((id) => keys.unreadTotal(id)));
  return new Map(userIds.map((id, i) => [id, unreadTotalOf(entries[i]!)]));
}

/** An unread total as stored; never below 0, even if a bug ever made the sum wrap. */
function unreadTotalOf(entry: Deno.KvEntryMaybe<unknown>): number {
  return Math.max(0, counterValue(entry));
}

/** Which messages of a room a page reads: seqs in `[fromSeq, toSeq]`, newest or oldest first. */
export interface MessageRange {
  fromSeq: number;
  toSeq: number;
  newestFirst: boolean;
  limit: number;
}

/**
 * Up to `limit` messages that are not deleted, in the range and order asked,
 * and whether more such messages remain in the range.
 */
export async function listMessages(
  kv: Deno.Kv,
  roomId: string,
  range: MessageRange,
): Promise<{ messages: StoredMessage[]; hasMore: boolean }> {
  const messages: StoredMessage[] = [];
  let { fromSeq, toSeq } = range;
  while (fromSeq <= toSeq) {
    const want = range.limit + 1 - messages.length;
    let last: number | undefined;
    let seen = 0;
    const selector = { start: keys.message(roomId, fromSeq), end: keys.message(roomId, toSeq + 1) };
    for await (const entry of kv.list<StoredMessage>(selector, { reverse: range.newestFirst, limit: want })) {
      seen++;
      last = entry.value.seq;
      if (entry.value.deletedAt === undefined) messages.push(entry.value);
    }
    if (messages.length > range.limit || seen < want || last === undefined) break;
    // Deleted rows took some of the page: read on past them.
    if (range.newestFirst) toSeq = last - 1;
    else fromSeq = last + 1;
  }
  return { messages: messages.slice(0, range.limit), hasMore: messages.length > range.limit };
}

/** One message row, deleted or not; null when the room has no message `seq`. */
export async function readMessage(kv: Deno.Kv, roomId: string, seq: number): Promise<StoredMessage | null> {
  return (await kv.get<StoredMessage>(keys.message(roomId, seq))).value;
}

/** The kept previous versions of message `seq`, newest first (at most `MAX_EDITS` rows). */
export async function listMessageVersions(
  kv: Deno.Kv,
  roomId: string,
  seq: number,
): Promise<MessageVersion[]> {
  const versions: MessageVersion[] = [];
  for await (
    const entry of kv.list<MessageVersion>({ prefix: keys.messageVersions(roomId, seq) }, { reverse: true })
  ) {
    versions.push(entry.value);
  }
  return versions;
}
